/* Suket verifier: checks a Suket's QR text in the browser, with no network once cached.
 *
 * The text is "RK1:" + Base45(zlib(COSE_Sign1)); the COSE payload is a CBOR map. The
 * signature (Ed25519, WebCrypto) is checked against the published office keys, then the
 * revocation list (sorted 8-byte SHA-256 prefixes of revoked Suket ids) and the dates.
 * Keys and the list are cached by the service worker /verifikasi-sw.js.
 */
"use strict";

(function () {
  const PREFIX = "RK1:";
  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const page = document.getElementById("verifier");
  const keysUrl = page.dataset.keysUrl;
  const revUrl = page.dataset.revocationsUrl;
  const checkUrl = page.dataset.checkUrl;
  let keys = null;
  let revocations = null;
  // Every text shown, in the page's language (rekam.suket.verify.verifier_texts).
  const T = JSON.parse(document.getElementById("verifier-texts").textContent);

  // T[key] with its %(name)s placeholders filled.
  function t(key, values) {
    return T[key].replace(/%\((\w+)\)s/g, (_, name) => String((values || {})[name] ?? ""));
  }

  class Invalid extends Error {
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
          const s = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
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
    if (!revocations || !revocations.entries) return false;
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

  async function verifyText(raw) {
    const text = raw.trim();
    if (!text.startsWith(PREFIX)) throw new Invalid("no_prefix", { prefix: PREFIX });
    const cose = cborDecode(await inflate(base45Decode(text.slice(PREFIX.length))));
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
    const info = (keys || []).find((k) => k.kid === hex(kid) && !k.compromised_at);
    if (!info) throw new Invalid("unknown_key");
    let ok = false;
    try {
      const key = await crypto.subtle.importKey("raw", b64(info.public_key), { name: "Ed25519" }, false, ["verify"]);
      ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, sigStructure(prot, payloadBytes));
    } catch (e) {
      if (e && e.name === "NotSupportedError") {
        throw new Error(t("no_ed25519"));
      }
      ok = false;
    }
    if (!ok) throw new Invalid("forged");
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

  const LABELS = {
    SAH: T.valid,
    KEDALUWARSA: T.expired,
    DICABUT: T.revoked,
    TIDAK_SAH: T.not_valid,
    TIDAK_TERBACA: T.unreadable,
  };
  // An image whose code could not be read says nothing of the Suket: never "not valid".
  function unreadable(reason) {
    show({ status: "TIDAK_TERBACA", reason: reason + " " + T.try_again });
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
    const rows = [
      [T.election, result.election_name || result.election],
      [T.name, result.name], [T.nik, result.nik], [T.number, result.number],
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

  async function check(text) {
    try {
      show(await verifyText(text));
    } catch (e) {
      if (e instanceof Invalid) show({ status: "TIDAK_SAH", reason: e.message });
      else show({ status: "TIDAK_SAH", reason: String(e.message || e) });
    }
  }

  async function loadData() {
    const state = document.getElementById("offline-state");
    try {
      const [k, r] = await Promise.all([fetch(keysUrl), fetch(revUrl)]);
      if (!k.ok || !r.ok) throw new Error("HTTP");
      keys = (await k.json()).keys;
      revocations = await r.json();
      state.textContent = t("loaded", { list: listLabel(revocations.generated_at) });
      page.dataset.ready = "1";
    } catch (e) {
      state.textContent = t("not_loaded");
    }
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(page.dataset.swUrl, { scope: page.dataset.scope });
      const reg = await navigator.serviceWorker.ready;
      const urls = [location.pathname, keysUrl, revUrl, ...Array.from(document.querySelectorAll("script[src], link[rel=stylesheet]"), (el) => el.src || el.href)];
      const channel = new MessageChannel();
      channel.port1.onmessage = () => { page.dataset.offline = "1"; };
      reg.active.postMessage({ cache: urls }, [channel.port2]);
    } catch (e) {
      // Verification still works while this page stays open.
    }
  }

  async function decodeImage(blob) {
    if ("BarcodeDetector" in window) {
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      const found = await detector.detect(await createImageBitmap(blob));
      if (found.length) return found[0].rawValue;
      throw new Invalid("no_qr");
    }
    return null;
  }

  document.getElementById("paste-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    check(document.getElementById("qr-text").value);
  });

  document.getElementById("image-input").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      const text = await decodeImage(file);
      if (text !== null) return check(text);
      // No QR reader in this browser: let the server read the image (needs a connection).
      const body = new FormData();
      body.append("gambar", file);
      const res = await fetch(checkUrl, { method: "POST", body });
      const data = await res.json();
      if (data.error) unreadable(data.error);
      else show(data);
    } catch (e) {
      unreadable(e instanceof Invalid ? e.message : t("image_offline"));
    }
  });

  const camButton = document.getElementById("camera-button");
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
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
  }

  loadData().then(registerWorker);
})();
