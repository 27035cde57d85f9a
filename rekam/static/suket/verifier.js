/* Suket verifier: checks a Suket's QR text in the browser, with no network once cached.
 *
 * The text is "RK1:" + Base45(zlib(COSE_Sign1)); the COSE payload is a CBOR map. The
 * signature (Ed25519, WebCrypto) is checked against the published office keys, then the
 * revocation list (sorted 8-byte SHA-256 prefixes of revoked Suket ids) and the dates.
 * Keys and the list are cached by the service worker /verifikasi-sw.js.
 *
 * Where this device cannot decide (a browser without Ed25519 or DecompressionStream, or a
 * key newer than the saved key list) the verdict is never "not valid": the page asks the
 * server (/verifikasi/periksa) when there is signal, and otherwise says it cannot check here.
 */
"use strict";

(function () {
  const PREFIX = "RK1:";
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const page = document.getElementById("verifier");
  const keysUrl = page.dataset.keysUrl;
  const revUrl = page.dataset.revocationsUrl;
  const checkUrl = page.dataset.checkUrl;
  const lang = document.documentElement.lang || "";
  let keysDoc = null; // kunci.json: generated_at, keys, withdrawn (compromised key ids)
  let keys = null;
  let revocations = null;
  // Every text shown, in the page's language (rekam.suket.verify.verifier_texts).
  const T = JSON.parse(document.getElementById("verifier-texts").textContent);

  // T[key] with its %(name)s placeholders filled.
  function t(key, values) {
    return T[key].replace(/%\((\w+)\)s/g, (_, name) => String((values || {})[name] ?? ""));
  }

  // The Suket is not valid: a verdict.
  class Invalid extends Error {
    constructor(key, values) {
      super(t(key, values));
    }
  }

  // This device cannot decide: not a verdict on the Suket.
  class CannotCheck extends Error {
    constructor(key, values) {
      super(t(key, values));
    }
  }

  function base45Decode(text) {
    if (text.length % 3 === 1) throw new Invalid("foreign_characters");
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      const chunk = text.slice(i, i + 3);
      const v = Array.from(chunk, (c) => {
        const n = B45.indexOf(c);
        if (n < 0) throw new Invalid("foreign_characters");
        return n;
      });
      if (v.length === 3) {
        const n = v[0] + v[1] * 45 + v[2] * 2025;
        if (n > 0xffff) throw new Invalid("damaged_code");
        out.push(n >> 8, n & 0xff);
      } else {
        const n = v[0] + v[1] * 45;
        if (n > 0xff) throw new Invalid("damaged_code");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  async function inflate(bytes) {
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
      const buf = await new Response(stream).arrayBuffer();
      if (buf.byteLength > 16384) throw new Invalid("too_large");
      return new Uint8Array(buf);
    } catch (e) {
      if (e instanceof Invalid) throw e;
      throw new Invalid("damaged_code");
    }
  }

  // A small CBOR decoder: what COSE_Sign1 and the Suket payload use.
  function cborDecode(bytes) {
    let pos = 0;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    function need(n) {
      if (pos + n > bytes.length) throw new Invalid("damaged_structure");
    }
    function length(info) {
      if (info < 24) return info;
      if (info === 24) { need(1); return bytes[pos++]; }
      if (info === 25) { need(2); const v = view.getUint16(pos); pos += 2; return v; }
      if (info === 26) { need(4); const v = view.getUint32(pos); pos += 4; return v; }
      if (info === 27) {
        need(8);
        const v = view.getUint32(pos) * 4294967296 + view.getUint32(pos + 4);
        pos += 8;
        return v;
      }
      throw new Invalid("damaged_structure");
    }
    function item(depth) {
      if (depth > 16) throw new Invalid("damaged_structure");
      need(1);
      const first = bytes[pos++];
      const major = first >> 5;
      const info = first & 31;
      if (major === 7) {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        throw new Invalid("damaged_structure");
      }
      const n = length(info);
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: { need(n); const b = bytes.slice(pos, pos + n); pos += n; return b; }
        case 3: {
          need(n);
          let s;
          try {
            s = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
          } catch (e) {
            throw new Invalid("damaged_structure");
          }
          pos += n;
          return s;
        }
        case 4: { const a = []; for (let i = 0; i < n; i++) a.push(item(depth + 1)); return a; }
        case 5: {
          const m = new Map();
          for (let i = 0; i < n; i++) { const k = item(depth + 1); m.set(k, item(depth + 1)); }
          return m;
        }
        case 6: return { tag: n, value: item(depth + 1) };
      }
      throw new Invalid("damaged_structure");
    }
    const value = item(0);
    if (pos !== bytes.length) throw new Invalid("damaged_structure");
    return value;
  }

  function cborHead(major, n) {
    if (n < 24) return [(major << 5) | n];
    if (n < 256) return [(major << 5) | 24, n];
    return [(major << 5) | 25, n >> 8, n & 0xff];
  }

  function sigStructure(protectedBytes, payload) {
    const parts = [
      [0x84],
      cborHead(3, 10), Array.from(new TextEncoder().encode("Signature1")),
      cborHead(2, protectedBytes.length), Array.from(protectedBytes),
      [0x40],
      cborHead(2, payload.length), Array.from(payload),
    ];
    return new Uint8Array(parts.flat());
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function b64(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }

  // YYYY-MM-DD of a moment in Asia/Jakarta (the dates in the payload are WIB dates).
  function jakartaDate(moment) {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone: "Asia/Jakarta", year: "numeric", month: "2-digit", day: "2-digit",
    }).format(moment);
  }

  function todayJakarta() {
    return jakartaDate(new Date());
  }

  // "05-12-2020 10:00" (WIB), as the Python verifier writes it.
  function jakartaDateTime(iso) {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Jakarta", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date(iso))) parts[p.type] = p.value;
    return `${parts.day}-${parts.month}-${parts.year} ${parts.hour}:${parts.minute}`;
  }

  // How the verdict names the list it was checked against, with a warning when it is old.
  function listLabel(iso) {
    if (!iso) return "";
    const hours = (Date.now() - new Date(iso).getTime()) / 3600000;
    const label = t("list_as_of", { when: jakartaDateTime(iso) });
    return hours > 24 ? label + " " + T.list_old : label;
  }

  function maskNik(nik) {
    return nik.length === 16 ? nik.slice(0, 6) + "********" + nik.slice(14) : "*".repeat(nik.length);
  }

  function dmy(iso) {
    return iso ? iso.slice(8, 10) + "-" + iso.slice(5, 7) + "-" + iso.slice(0, 4) : "";
  }

  async function isRevoked(uid) {
    if (!revocations) throw new CannotCheck("no_keys");
    if (!revocations.entries) return false; // an empty list: nothing revoked
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", uid));
    const size = revocations.hash_bytes || 8;
    const want = hex(digest.slice(0, size));
    const all = b64(revocations.entries);
    let lo = 0;
    let hi = all.length / size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const h = hex(all.slice(mid * size, (mid + 1) * size));
      if (h === want) return true;
      if (h < want) lo = mid + 1; else hi = mid - 1;
    }
    return false;
  }

  const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

  // A key the saved list does not hold: made after the list (undecidable here), or never
  // valid. Only the payload's claimed issue date is read, never shown: it is unverified.
  function unknownKey(payloadBytes) {
    let issued = null;
    try {
      const p = cborDecode(payloadBytes);
      if (p instanceof Map && ISO_DATE.test(p.get("iss"))) issued = p.get("iss");
    } catch (e) {
      // no date to go by
    }
    if (issued === null) throw new Invalid("unknown_key");
    const asOf = keysDoc && keysDoc.generated_at;
    if (!asOf) throw new CannotCheck("key_list_undated");
    if (jakartaDate(new Date(asOf)) > issued) throw new Invalid("unknown_key");
    throw new CannotCheck("key_not_yet_known", { when: jakartaDateTime(asOf) });
  }

  async function signatureMatches(info, signature, signed) {
    let key;
    try {
      key = await crypto.subtle.importKey("raw", b64(info.public_key), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new CannotCheck(!window.crypto || !crypto.subtle || e.name === "NotSupportedError" ? "no_ed25519" : "device_error");
    }
    try {
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed);
    } catch (e) {
      if (e && e.name === "NotSupportedError") throw new CannotCheck("no_ed25519");
      return false;
    }
  }

  async function verifyText(raw) {
    const text = raw.trim();
    if (!text.startsWith(PREFIX)) throw new Invalid("no_prefix", { prefix: PREFIX });
    const packed = base45Decode(text.slice(PREFIX.length));
    if (typeof DecompressionStream !== "function") throw new CannotCheck("no_inflate");
    const cose = cborDecode(await inflate(packed));
    const arr = cose && cose.tag === 18 ? cose.value : cose;
    if (!Array.isArray(arr) || arr.length !== 4) throw new Invalid("not_signed");
    const [prot, , payloadBytes, signature] = arr;
    if (!(prot instanceof Uint8Array && payloadBytes instanceof Uint8Array && signature instanceof Uint8Array)) {
      throw new Invalid("not_signed");
    }
    const header = cborDecode(prot);
    if (!(header instanceof Map) || header.get(1) !== -8) throw new Invalid("unknown_algorithm");
    const kid = header.get(4);
    if (!(kid instanceof Uint8Array)) throw new Invalid("no_key_id");
    if (!keys) throw new CannotCheck("no_keys");
    const withdrawn = (keysDoc.withdrawn || []).find((w) => w.kid === hex(kid));
    if (withdrawn) {
      throw new Invalid("withdrawn_key", { date: dmy(jakartaDate(new Date(withdrawn.withdrawn_at))) });
    }
    const info = keys.find((k) => k.kid === hex(kid) && !k.compromised_at);
    if (!info) unknownKey(payloadBytes);
    if (!(await signatureMatches(info, signature, sigStructure(prot, payloadBytes)))) {
      throw new Invalid("forged");
    }
    const p = cborDecode(payloadBytes);
    if (!(p instanceof Map) || p.get("v") !== 1) throw new Invalid("unknown_version");
    for (const [k, t] of [["no", "string"], ["nik", "string"], ["nm", "string"], ["of", "string"], ["el", "string"], ["iss", "string"], ["vu", "string"]]) {
      if (typeof p.get(k) !== t) throw new Invalid("incomplete");
    }
    if (!(p.get("id") instanceof Uint8Array)) throw new Invalid("incomplete");
    if (p.get("of") !== info.office) throw new Invalid("other_office");
    // A retired key vouches only for Sukets issued on or before the day it was retired.
    if (info.retired_at) {
      const retiredOn = jakartaDate(new Date(info.retired_at));
      if (p.get("iss") > retiredOn) {
        throw new Invalid("withdrawn_key", { date: dmy(retiredOn) });
      }
    }
    const names = (revocations && revocations.elections) || {};
    const listDate = revocations ? revocations.generated_at : null;
    const result = {
      number: p.get("no"), name: p.get("nm"), nik: maskNik(p.get("nik")),
      birth_date: typeof p.get("lhr") === "string" ? p.get("lhr") : "",
      office_name: info.office_name, valid_until: p.get("vu"), issued_on: p.get("iss"),
      election: p.get("el"), election_name: names[p.get("el")] || p.get("el"),
      revocation_list_date: listDate, revocation_list: listLabel(listDate),
    };
    const today = todayJakarta();
    if (await isRevoked(p.get("id"))) {
      return Object.assign(result, { status: "DICABUT", reason: t("revoked_reason") });
    }
    if (today > p.get("vu")) {
      return Object.assign(result, { status: "KEDALUWARSA", reason: t("ended", { date: dmy(p.get("vu")) }) });
    }
    if (today < p.get("iss")) throw new Invalid("future", { date: dmy(p.get("iss")) });
    return Object.assign(result, { status: "SAH", reason: t("genuine", { date: dmy(p.get("vu")) }) });
  }

  const CANNOT_CHECK = "TIDAK_DAPAT_DIPERIKSA";
  const LABELS = {
    SAH: T.valid,
    KEDALUWARSA: T.expired,
    DICABUT: T.revoked,
    TIDAK_SAH: T.not_valid,
    TIDAK_DAPAT_DIPERIKSA: T.cannot_check,
    TIDAK_TERBACA: T.unreadable,
  };
  // What the officer does next: compare, or ask for another document.
  const NEXT = {
    SAH: T.next_valid,
    KEDALUWARSA: T.next_not_valid,
    DICABUT: T.next_not_valid,
    TIDAK_SAH: T.next_not_valid,
    TIDAK_DAPAT_DIPERIKSA: T.next_offline,
  };
  // An image whose code could not be read says nothing of the Suket: never "not valid".
  // ``advice`` only where a reader looked and found nothing (a sharper photo may help).
  function unreadable(reason, advice) {
    show({ status: "TIDAK_TERBACA", reason: advice ? reason + " " + advice : reason });
  }

  function hideResult() {
    const box = document.getElementById("result");
    box.hidden = true;
    delete box.dataset.status;
  }

  function formMessage(text) {
    const note = document.getElementById("form-message");
    note.textContent = text;
    note.hidden = !text;
  }

  function show(result) {
    const box = document.getElementById("result");
    box.hidden = false;
    box.className = "verdict verdict-" + result.status.toLowerCase();
    box.dataset.status = result.status;
    document.getElementById("verdict-label").textContent = LABELS[result.status] || result.status;
    // Which election the Suket is for, beside the verdict: a Suket of another election is no
    // use at this polling station even when it is genuine.
    const election = document.getElementById("verdict-election");
    election.textContent = result.election_name || result.election || "";
    election.hidden = !election.textContent;
    document.getElementById("verdict-reason").textContent = result.reason || "";
    document.getElementById("verdict-next").textContent = result.next ?? NEXT[result.status] ?? "";
    const rows = [
      [T.election, result.election_name || result.election],
      [T.name, result.name], [T.birth_date, dmy(result.birth_date)], [T.nik, result.nik],
      [T.number, result.number],
      [T.issued_by, result.office_name], [T.valid_until, dmy(result.valid_until)],
      [T.checked_with, result.revocation_list],
    ];
    const dl = document.getElementById("verdict-facts");
    dl.replaceChildren();
    for (const [k, v] of rows) {
      if (!v) continue;
      const div = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      div.append(dt, dd);
      dl.append(div);
    }
  }

  // The server's check (live keys and revocations), for what this device cannot decide.
  async function checkOnline(text, why) {
    let res;
    try {
      res = await fetch(checkUrl + "?bahasa=" + encodeURIComponent(lang), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ qr: text }),
      });
    } catch (e) {
      return show({ status: CANNOT_CHECK, reason: why, next: T.next_offline });
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      // not an answer of the check
    }
    if (!res.ok || !data || !LABELS[data.status]) {
      const extra = data && data.error ? " (" + data.error + ")" : "";
      return show({ status: CANNOT_CHECK, reason: why + extra, next: T.next_retry });
    }
    show(data);
  }

  async function check(text) {
    hideResult();
    formMessage("");
    if (!text.trim()) {
      formMessage(T.empty);
      return;
    }
    try {
      show(await verifyText(text));
    } catch (e) {
      if (e instanceof Invalid) show({ status: "TIDAK_SAH", reason: e.message });
      else await checkOnline(text, e instanceof CannotCheck ? e.message : T.device_error);
    }
  }

  async function loadData() {
    const state = document.getElementById("offline-state");
    try {
      const [k, r] = await Promise.all([fetch(keysUrl), fetch(revUrl)]);
      if (!k.ok || !r.ok) throw new Error("HTTP");
      // Both lists or neither: keys without the revocation list would pass a revoked Suket.
      const [keysRead, revocationsRead] = await Promise.all([k.json(), r.json()]);
      if (!keysRead || !Array.isArray(keysRead.keys) || !revocationsRead) throw new Error("list");
      keysDoc = keysRead;
      revocations = revocationsRead;
      keys = keysDoc.keys;
      const list = listLabel(revocations.generated_at);
      state.textContent = keysDoc.generated_at
        ? t("loaded_dated", { when: jakartaDateTime(keysDoc.generated_at), list })
        : t("loaded", { list });
      page.dataset.ready = "1";
    } catch (e) {
      state.textContent = t("not_loaded");
    }
  }

  // An Ed25519 public key (RFC 8032, test 1): importing it shows whether WebCrypto has Ed25519.
  const PROBE_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

  async function canCheckHere() {
    if (typeof DecompressionStream !== "function") return false;
    try {
      await crypto.subtle.importKey("raw", b64(PROBE_KEY), { name: "Ed25519" }, false, ["verify"]);
      return true;
    } catch (e) {
      return false;
    }
  }

  async function hasQrReader() {
    if (!("BarcodeDetector" in window)) return false;
    try {
      return (await BarcodeDetector.getSupportedFormats()).includes("qr_code");
    } catch (e) {
      return false;
    }
  }

  // Say up front what this browser cannot do, and what to do instead.
  const qrReader = hasQrReader();
  qrReader.then((ok) => {
    page.dataset.qrReader = ok ? "1" : "0";
    const note = document.getElementById("image-note");
    note.textContent = ok ? "" : T.no_qr_reader;
    note.hidden = ok;
  });
  canCheckHere().then((ok) => {
    page.dataset.localCheck = ok ? "1" : "0";
    const note = document.getElementById("local-check-note");
    note.textContent = ok ? "" : T.no_local_check;
    note.hidden = ok;
  });

  async function registerWorker() {
    const ready = document.getElementById("offline-ready");
    if (!("serviceWorker" in navigator)) {
      ready.textContent = T.offline_unavailable;
      return;
    }
    try {
      await navigator.serviceWorker.register(page.dataset.swUrl, { scope: page.dataset.scope });
      const reg = await navigator.serviceWorker.ready;
      const urls = [location.pathname, keysUrl, revUrl, ...Array.from(document.querySelectorAll("script[src], link[rel=stylesheet]"), (el) => el.src || el.href)];
      // Every language's copy, so that the language links work without signal too.
      const pages = Array.from(document.querySelectorAll(".lang-links a[href]"), (a) => a.href);
      const channel = new MessageChannel();
      channel.port1.onmessage = (ev) => {
        if (ev.data === "cached") page.dataset.offline = "1";
        ready.textContent = ev.data === "cached" ? T.offline_ready : T.offline_unavailable;
      };
      reg.active.postMessage({ cache: urls, pages }, [channel.port2]);
    } catch (e) {
      // Verification still works while this page stays open.
      ready.textContent = T.offline_unavailable;
    }
  }

  document.getElementById("paste-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    check(document.getElementById("qr-text").value);
  });

  document.getElementById("image-input").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    hideResult();
    formMessage("");
    if (await qrReader) {
      let found = [];
      try {
        found = await new BarcodeDetector({ formats: ["qr_code"] }).detect(await createImageBitmap(file));
      } catch (e) {
        // an image the browser cannot open: nothing found
      }
      if (found.length) return check(found[0].rawValue);
      return unreadable(T.no_qr, T.try_again);
    }
    // No QR reader in this browser: the server reads the image, when there is signal.
    let res;
    try {
      const body = new FormData();
      body.append("gambar", file);
      res = await fetch(checkUrl + "?bahasa=" + encodeURIComponent(lang), { method: "POST", body });
    } catch (e) {
      return unreadable(T.image_offline);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      // not an answer of the check
    }
    if (data && LABELS[data.status] && !data.error) return show(data);
    const reason = (data && data.error) || T.no_qr;
    // 400: the server looked at the picture and found no readable code.
    unreadable(reason, res.status === 400 ? T.try_again : T.next_retry);
  });

  const camButton = document.getElementById("camera-button");
  qrReader.then((ok) => {
    if (!ok || !navigator.mediaDevices) return;
    camButton.hidden = false;
    camButton.addEventListener("click", async () => {
      const video = document.getElementById("camera");
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      for (let i = 0; i < 600; i++) {
        const found = await detector.detect(video).catch(() => []);
        if (found.length) {
          stream.getTracks().forEach((t) => t.stop());
          video.hidden = true;
          return check(found[0].rawValue);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      stream.getTracks().forEach((t) => t.stop());
      video.hidden = true;
    });
  });

  loadData().then(registerWorker);
})();
