/* wangge map pages: what the shell and the edit page share. Values from data or users only ever reach the page
   through WG.esc (as text) — tooltips, labels, panels and legends alike. */
(function () {
  'use strict';
  var NF = new Intl.NumberFormat('zh-CN');
  var ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;'};

  function esc(s) {
    return s === null || s === undefined ? '' : String(s).replace(/[&<>"'`]/g, function (c) { return ESC[c]; });
  }

  function empty(v) { return v === null || v === undefined || v === '' || (typeof v === 'number' && isNaN(v)); }

  // One field of the registry (maps/layers.py Field) as text: numbers with separators, shares as %, metres and
  // square metres in the unit that reads best, estimates marked once. Returns null for a missing value.
  function formatValue(field, props) {
    var v = props[field.key];
    if (empty(v)) return null;
    var n = Number(v), out;
    switch (field.format) {
      case 'int': out = NF.format(Math.round(n)) + (field.unit ? ' ' + field.unit : ''); break;
      case 'decimal': out = n.toFixed(field.digits === undefined ? 1 : field.digits) + (field.unit ? ' ' + field.unit : ''); break;
      case 'share': out = Math.round(n * 100) + '%'; break;
      case 'distance': out = n < 1000 ? Math.round(n) + ' 米' : (n / 1000).toFixed(n < 10000 ? 2 : 1) + ' 公里'; break;
      case 'area':
        out = n < 10000 ? NF.format(Math.round(n)) + ' 平方米' : n < 1e6 ? (n / 1e4).toFixed(2) + ' 公顷' : (n / 1e6).toFixed(2) + ' 平方公里';
        break;
      case 'duration': out = n < 60 ? Math.round(n) + ' 秒' : (n / 60).toFixed(1) + ' 分钟'; break;
      case 'enum': out = (field.values && field.values[v]) || String(v); break;
      default: out = String(v);
    }
    if (field.estimated || (field.estimatedBy && props[field.estimatedBy])) out += '（估算）';
    return out;
  }

  // A tooltip: the title (first text field) bold, then one row per field with a value.
  function tooltipHtml(fields, props, heading) {
    var rows = [];
    fields.forEach(function (f) {
      var v = formatValue(f, props);
      if (v !== null) rows.push('<tr><th>' + esc(f.label) + '</th><td>' + esc(v) + '</td></tr>');
    });
    return (heading ? '<div class="wg-tip-head">' + esc(heading) + '</div>' : '') +
      (rows.length ? '<table class="wg-tip">' + rows.join('') + '</table>' : '');
  }

  // Labels that never collide: each pass, labels are placed biggest first and one that would overlap a placed
  // label (or leave the map) is hidden. ``items``: [{marker, priority, visible()}].
  function Labels(map) {
    this.map = map;
    this.items = [];
    var self = this, pending = false;
    this.schedule = function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; self.place(); });
    };
    map.on('zoomend moveend resize', this.schedule);
  }
  Labels.prototype.add = function (item) {
    item.marker.addTo(this.map);
    this.items.push(item);
    this.schedule();
  };
  Labels.prototype.remove = function (filter) {
    var map = this.map;
    this.items = this.items.filter(function (it) {
      if (filter(it)) { map.removeLayer(it.marker); return false; }
      return true;
    });
    this.schedule();
  };
  Labels.prototype.place = function () {
    var map = this.map, size = map.getSize(), kept = [], shown = 0;
    var items = this.items.slice().sort(function (a, b) {
      return ((b.rank || 0) - (a.rank || 0)) || ((b.priority || 0) - (a.priority || 0));
    });
    items.forEach(function (it) {
      var el = it.marker.getElement();
      if (!el) return;
      if (!it.visible()) { el.style.display = 'none'; return; }
      el.style.display = '';
      if (!it.w) { var inner = el.firstChild || el; it.w = inner.offsetWidth; it.h = inner.offsetHeight; }
      var p = map.latLngToContainerPoint(it.marker.getLatLng());
      var box = [p.x - it.w / 2 - 3, p.y - it.h / 2 - 2, p.x + it.w / 2 + 3, p.y + it.h / 2 + 2];
      var off = box[2] < 0 || box[0] > size.x || box[3] < 0 || box[1] > size.y;
      var hit = off || kept.some(function (k) { return !(box[2] < k[0] || box[0] > k[2] || box[3] < k[1] || box[1] > k[3]); });
      if (hit) el.style.display = 'none'; else { kept.push(box); shown++; }
    });
    this.shown = shown;
  };

  // A label marker centred on its point; ``html`` is built from escaped parts by the caller.
  function labelMarker(latlng, html, cls) {
    return L.marker(latlng, {
      interactive: false, keyboard: false, pane: 'wgLabels',
      icon: L.divIcon({className: 'wg-label' + (cls ? ' ' + cls : ''), html: '<span>' + html + '</span>', iconSize: null})
    });
  }

  // Leaflet's metric scale, in Chinese (米, 公里)
  function scale(map, options) {
    var Scale = L.Control.Scale.extend({
      _updateMetric: function (maxMeters) {
        var meters = this._getRoundNum(maxMeters);
        this._updateScale(this._mScale, meters < 1000 ? meters + ' 米' : (meters / 1000) + ' 公里', meters / maxMeters);
      }
    });
    return new Scale(L.extend({imperial: false, metric: true, maxWidth: 160}, options || {})).addTo(map);
  }

  window.WG = {scale: scale, esc: esc, formatValue: formatValue, tooltipHtml: tooltipHtml, Labels: Labels, labelMarker: labelMarker, NF: NF};
})();
