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

// The page names what it needs (its own address, script, style, keys, list).
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.cache) || [];
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(urls.filter((u) => new URL(u, self.location).origin === self.location.origin)))
      .then(() => event.ports[0] && event.ports[0].postMessage("cached"))
      .catch(() => event.ports[0] && event.ports[0].postMessage("failed"))
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
        // finds no cached copy offline.
        .catch(() => cache.match(req, { ignoreSearch: true, ignoreVary: true }).then((hit) => hit || Response.error()))
    )
  );
});
