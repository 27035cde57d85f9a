// The waiting-room board. It runs for days without a reload, so everything it holds is bounded:
// one request in flight (a timeout chain, never overlapping intervals), a fixed set of DOM nodes
// whose text is replaced (nothing is appended), at most MAX_PENDING announcements waiting, and
// one decoded buffer per audio clip (a fixed word list). Calls are announced by playing
// recorded Indonesian word clips back to back through one AudioContext: no network service.
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) return;
  var url = root.dataset.url;
  var audioBase = root.dataset.audio;
  var counterWord = root.dataset.counterWord || "Loket";
  var poll = Math.max(20, Number(root.dataset.poll) || 2000);
  var lastId = Number(root.dataset.last) || 0;
  var MAX_PENDING = 4;
  var MAX_BACKOFF = 30000;
  var delay = poll;
  var pending = [];
  var speaking = false;
  var ctx = null;
  var buffers = new Map();
  var useSpeech = null;
  var lastVoice = "";

  var field = {};
  root.querySelectorAll("[data-field]").forEach(function (el) {
    if (!el.closest("[data-counter]")) field[el.dataset.field] = el;
  });
  var counters = new Map();
  root.querySelectorAll("[data-counter]").forEach(function (box) {
    counters.set(Number(box.dataset.counter), {
      box: box,
      label: box.querySelector('[data-field="label"]'),
      service: box.querySelector('[data-field="service"]'),
    });
    box.addEventListener("animationend", function () { box.classList.remove("is-new"); });
  });
  var rows = Array.prototype.map.call(root.querySelectorAll("[data-row]"), function (li) {
    return {
      label: li.querySelector('[data-part="label"]'),
      counter: li.querySelector('[data-part="counter"]'),
      time: li.querySelector('[data-part="time"]'),
    };
  });
  var soundButton = root.querySelector('[data-action="sound"]');

  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function render(data) {
    setText(field.time, data.time);
    setText(field.may_enter, String(data.may_enter));
    setText(field.inside, String(data.inside));
    setText(field.limit, String(data.limit));
    setText(field.waiting, String(data.waiting));
    data.counters.forEach(function (c) {
      var slot = counters.get(c.counter);
      if (!slot) return;
      setText(slot.label, c.label || "–");
      setText(slot.service, c.service || "");
    });
    rows.forEach(function (row, i) {
      var call = data.calls[i];
      setText(row.label, call ? call.label : "");
      setText(row.counter, call ? counterWord + " " + call.counter : "");
      setText(row.time, call ? call.time : "");
    });
    var fresh = data.calls.filter(function (c) { return c.id > lastId; }).reverse();
    fresh.forEach(function (call) {
      var slot = counters.get(call.counter);
      if (slot) {
        slot.box.classList.remove("is-new");
        void slot.box.offsetWidth; // restart the flash
        slot.box.classList.add("is-new");
      }
      pending.push(call);
    });
    while (pending.length > MAX_PENDING) pending.shift(); // a backlog is old news: drop it
    if (data.calls.length) lastId = Math.max(lastId, data.calls[0].id);
    speak();
  }

  function tick() {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 8000);
    fetch(url, { cache: "no-store", signal: controller.signal, headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        render(data);
        field.offline.hidden = true;
        delay = poll;
      })
      .catch(function () {
        field.offline.hidden = false;
        delay = Math.min(delay * 2, MAX_BACKOFF);
      })
      .finally(function () {
        clearTimeout(timer);
        setTimeout(tick, delay);
      });
  }

  // Audio

  function audioContext() {
    if (ctx) return ctx;
    var Ctor = window.AudioContext || window.webkitAudioContext;
    if (!Ctor) return null;
    ctx = new Ctor();
    return ctx;
  }

  function clip(name) {
    var known = buffers.get(name);
    if (known) return known;
    var loading = fetch(audioBase + name + ".opus")
      .then(function (r) { if (!r.ok) throw new Error(name); return r.arrayBuffer(); })
      .then(function (bytes) { return ctx.decodeAudioData(bytes); });
    buffers.set(name, loading);
    loading.catch(function () { buffers.delete(name); });
    return loading;
  }

  function offlineVoice() {
    if (!("speechSynthesis" in window)) return null;
    var voices = window.speechSynthesis.getVoices();
    for (var i = 0; i < voices.length; i++) {
      if (voices[i].localService && /^id\b|^id[-_]/i.test(voices[i].lang)) return voices[i];
    }
    return null;
  }

  function sayWithVoice(call, done) {
    var voice = offlineVoice();
    lastVoice = voice ? "speech" : "none";
    if (!voice) { done(); return; }
    var u = new SpeechSynthesisUtterance(call.text);
    u.voice = voice;
    u.lang = voice.lang;
    u.onend = u.onerror = function () { done(); };
    window.speechSynthesis.speak(u);
  }

  function playClips(call, done) {
    Promise.all(call.say.map(clip)).then(function (list) {
      lastVoice = "clips";
      root.dataset.saying = call.label + "@" + call.counter;
      var t = ctx.currentTime + 0.05;
      list.forEach(function (buffer) {
        var source = ctx.createBufferSource();
        source.buffer = buffer;
        source.connect(ctx.destination);
        source.onended = function () { source.disconnect(); };
        source.start(t);
        t += buffer.duration;
      });
      setTimeout(done, Math.max(0, (t - ctx.currentTime) * 1000) + 600);
    }, function () {
      useSpeech = true; // clips cannot be decoded here: an offline voice, if there is one
      sayWithVoice(call, done);
    });
  }

  function speak() {
    if (speaking || !pending.length) return;
    var audio = audioContext();
    if (useSpeech === null) useSpeech = !audio;
    if (!useSpeech && audio.state !== "running") {
      if (soundButton) soundButton.hidden = false;
      return; // the browser waits for a tap before it plays sound
    }
    speaking = true;
    var call = pending.shift();
    var done = function () {
      // What was said last and how: a single attribute for whoever checks the board.
      root.dataset.spoken = call.label + "@" + call.counter;
      root.dataset.voice = lastVoice;
      speaking = false;
      speak();
    };
    if (useSpeech) sayWithVoice(call, done);
    else playClips(call, done);
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      var audio = audioContext();
      if (!audio) return;
      audio.resume().then(function () {
        soundButton.hidden = true;
        speak();
      });
    });
  }
  var initial = audioContext();
  if (initial && initial.state !== "running" && soundButton) soundButton.hidden = false;
  if (initial) {
    initial.onstatechange = function () {
      if (initial.state === "running" && soundButton) soundButton.hidden = true;
    };
  }
  setTimeout(tick, poll);
})();
