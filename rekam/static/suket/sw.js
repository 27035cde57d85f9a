/* Service worker for /verifikasi: keeps the page, its script, the public keys and the
 * revocation list in a cache so that verification works with the network off. Requests go to
 * the network first (fresh keys and list when there is signal) and fall back to the cache. */
"use strict";

const CACHE = "rekam-verifikasi-v1";

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("rekam-verifikasi-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

const sameOrigin = (u) => new URL(u, self.location).origin === self.location.origin;

// Whether every request already has a copy (the page opened without signal asks again).
function allCached(cache, requests) {
  return Promise.all(requests.map((r) => cache.match(r, { ignoreVary: true })))
    .then((hits) => (hits.every(Boolean) ? "cached" : "failed"));
}

// The page names what it needs (its own address, script, style, keys, list) and its copy in
// every language (``pages``: ``?bahasa=..`` links). Those are fetched without cookies, so
// that storing them leaves the visitor's language choice alone.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  const requests = [
    ...(data.cache || []).filter(sameOrigin).map((u) => new Request(u)),
    ...(data.pages || []).filter(sameOrigin).map((u) => new Request(u, { credentials: "omit" })),
  ];
  const reply = (answer) => event.ports[0] && event.ports[0].postMessage(answer);
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(requests).then(() => "cached", () => allCached(cache, requests)))
      .then(reply, () => reply("failed"))
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      fetch(req)
        .then((res) => {
          if (res.ok) cache.put(req, res.clone());
          return res;
        })
        // The page varies on Accept-Language: without ignoreVary a phone set to Indonesian
        // finds no cached copy offline. The exact address first (``?bahasa=en`` is the
        // English copy), then the same path with any query.
        .catch(() => cache.match(req, { ignoreVary: true })
          .then((hit) => hit || cache.match(req, { ignoreSearch: true, ignoreVary: true }))
          .then((hit) => hit || Response.error()))
    )
  );
});
