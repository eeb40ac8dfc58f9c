/* An exported map opened over file:// (no server). Chromium refuses fetch() of file:// URLs but runs
   <script src>: tiles and layers are script files that hand their data to WG_TILE / WG_LAYER, and this shim
   answers the map's fetch() of those files with it. Loaded before the libraries (Leaflet.VectorTileLayer
   keeps the fetch it finds when it loads). Tiles that do not exist (window.WG_TILES lists those that do) are
   answered empty at once, without asking the disk. */
(function () {
  'use strict';
  var waiting = {};
  function respond(key, body, type) {
    var w = waiting[key];
    if (!w) return;
    delete waiting[key];
    w.forEach(function (resolve) { resolve(new Response(body, {status: 200, headers: {'Content-Type': type}})); });
  }
  window.WG_TILE = function (key, b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    respond('tile:' + key, bytes, 'application/vnd.mapbox-vector-tile');
  };
  window.WG_LAYER = function (key, data) { respond('layer:' + key, JSON.stringify(data), 'application/geo+json'); };
  function load(key, url) {
    return new Promise(function (resolve) {
      if (waiting[key]) { waiting[key].push(resolve); return; }
      waiting[key] = [resolve];
      var s = document.createElement('script');
      s.src = url;
      function done() { s.remove(); respond(key, new Uint8Array(0), 'application/octet-stream'); }
      s.onload = done;
      s.onerror = done;
      document.head.appendChild(s);
    });
  }
  var realFetch = window.fetch;
  window.fetch = function (input) {
    var url = String(input && input.url ? input.url : input), m;
    if ((m = /tiles\/(\d+)\/(\d+)\/(\d+)\.js$/.exec(url))) {
      var key = m[1] + '/' + m[2] + '/' + m[3];
      if (window.WG_TILES && !window.WG_TILES[key]) return Promise.resolve(new Response(new Uint8Array(0), {status: 200}));
      return load('tile:' + key, url);
    }
    if ((m = /layers\/(\w+)\.js$/.exec(url))) return load('layer:' + m[1], url);
    return realFetch.apply(this, arguments);
  };
})();
