/* wangge map shell: one page per area, its layers from the registry (maps/layers.py) in window.WG_CONFIG.

   Tile layers on when the page opens come in one request per view tile (512-px tiles, the layers concatenated);
   a tile layer switched on later gets its own. Small layers come as GeoJSON (labels, markers, points), bbox
   layers for the view once zoomed in. Every value from data goes through WG.esc (common.js). */
(function () {
  'use strict';
  var CFG = window.WG_CONFIG, W = window.WG, esc = W.esc;
  var P = window.__wg = window.__wg || {marks: {}};
  P.marks = P.marks || {};
  P.errors = [];
  P.drawn = {};
  function mark(name) { if (!(name in P.marks)) P.marks[name] = Math.round(performance.now()); }

  var byKey = {};
  CFG.layers.forEach(function (l) { byKey[l.key] = l; });
  var visible = {};
  CFG.layers.forEach(function (l) { visible[l.key] = !!l.on; });

  // -- the map --------------------------------------------------------------------------------------------------
  var map = L.map('map', {zoomSnap: 0.5, zoomDelta: 0.5, maxZoom: 19, zoomControl: false, attributionControl: true});
  window.__map = map;
  map.createPane('wgTiles').style.zIndex = 350;
  map.createPane('wgLabels').style.zIndex = 640;
  map.getPane('wgLabels').style.pointerEvents = 'none';
  if (CFG.view) map.setView(CFG.view.center, CFG.view.zoom); else map.fitBounds(CFG.area.bounds, {padding: [10, 10]});
  P.initialZoom = map.getZoom();
  L.control.zoom({position: 'bottomright', zoomInTitle: '放大', zoomOutTitle: '缩小'}).addTo(map);
  W.scale(map, {position: 'bottomleft'});
  map.attributionControl.setPrefix('Leaflet');
  map.attributionControl.addAttribution(esc(CFG.area.attribution || ''));
  if (CFG.basemap) {
    L.tileLayer(CFG.basemap.url, {attribution: esc(CFG.basemap.attribution || ''), maxZoom: 20}).addTo(map);
  }
  var status = document.createElement('div');
  status.id = 'wg-status';
  document.body.appendChild(status);
  function note(key, text) {
    var el = document.getElementById('wg-status-' + key);
    if (!el) { el = document.createElement('div'); el.id = 'wg-status-' + key; status.appendChild(el); }
    el.textContent = text || '';
    el.style.display = text ? '' : 'none';
  }

  // -- styles from the registry -----------------------------------------------------------------------------------
  function binColour(bins, v) {
    var c = bins.length ? bins[0][1] : '#999';
    for (var i = 0; i < bins.length; i++) if ((Number(v) || 0) >= bins[i][0]) c = bins[i][1];
    return c;
  }
  function pathStyle(layer, props) {
    var s = layer.style, colour = s.colour, fill = s.fill, weight = s.weight, dash = s.dash, fo = s.fillOpacity;
    if (s.colourFrom && props[s.colourFrom]) fill = props[s.colourFrom];
    if (s.by && s.bins.length) {
      if (layer.kind === 'line') colour = binColour(s.bins, props[s.by]); else fill = binColour(s.bins, props[s.by]);
    }
    if (s.by && s.categories[props[s.by]]) {
      var c = s.categories[props[s.by]];
      if (layer.kind === 'line') { colour = c.colour; if (c.weight) weight = c.weight; } else fill = c.colour;
    }
    s.highlights.forEach(function (h) {
      if (props[h.field] === h.value) {
        if (h.colour) colour = h.colour;
        if (h.weight) weight = h.weight;
        if (h.dash) dash = h.dash;
        if (h.fillOpacity !== null && h.fillOpacity !== undefined) fo = h.fillOpacity;
      }
    });
    return {stroke: true, color: colour, weight: weight, opacity: s.opacity, dashArray: dash, lineCap: 'round',
            lineJoin: 'round', fill: !!fill, fillColor: fill, fillOpacity: fo, radius: s.radius};
  }
  function densityStyle(layer, props) {
    return {stroke: false, fill: true, fillColor: binColour(layer.density.bins, props[layer.density.weight]), fillOpacity: 0.8};
  }

  // -- hover tooltips: one, following the pointer ----------------------------------------------------------------
  var tip = L.tooltip({sticky: true, direction: 'top', offset: [0, -8], opacity: 0.96, className: 'wg-tooltip'});
  function showTip(latlng, html) {
    if (!html) return hideTip();
    tip.setLatLng(latlng).setContent(html);
    if (!map.hasLayer(tip)) tip.addTo(map);
  }
  function hideTip() { if (map.hasLayer(tip)) map.removeLayer(tip); }
  function tipFor(layer, props, density) {
    if (density) return W.tooltipHtml(layer.density.tooltip, props, layer.name + '（合并显示）');
    return W.tooltipHtml(layer.tooltip, props, layer.name);
  }

  // -- vector tiles ----------------------------------------------------------------------------------------------
  var byTileName = {};
  CFG.layers.forEach(function (l) {
    if (l.source !== 'tiles') return;
    byTileName[l.key] = l;
    if (l.density) byTileName[l.density.layer] = l;
  });
  function tileVersion(keys) {
    var plans = CFG.planPage || keys.some(function (k) { return byKey[k].scope === 'plans'; });
    return plans ? CFG.versions.plans : CFG.versions.area;
  }
  var tileGroups = [];
  function tileGroup(keys) {
    keys = keys.slice().sort(function (a, b) { return byKey[a].order - byKey[b].order; });
    var names = [];
    keys.forEach(function (k) { if (byKey[k].density) names.push(byKey[k].density.layer); names.push(k); });
    var url = CFG.urls.tiles.replace('{layers}', keys.join(',')).replace('{v}', encodeURIComponent(tileVersion(keys)));
    var group = window.VectorTileLayer(url, {
      tileSize: 512, maxDetailZoom: CFG.maxTileZoom + 1, maxZoom: 20, pane: 'wgTiles', layers: names,
      // 512-px tiles of zoom z are the 256-px pyramid's tiles of z - 1 (the URL's zoom): no zoomOffset, which
      // Leaflet.VectorTileLayer applies to the URL but not to the tile grid once maxDetailZoom clamps it
      uz: function (d) { return d.z - 1; },
      style: function (feature, layerName, zoom) {
        var l = byTileName[layerName];
        if (!l) return {hidden: true};
        var density = !!(l.density && layerName === l.density.layer);
        var st = density ? densityStyle(l, feature.properties) : pathStyle(l, feature.properties);
        st.hidden = !visible[l.key] || zoom < l.minZoom;
        if (!st.hidden) P.drawn[layerName] = (P.drawn[layerName] || 0) + 1;  // read by tests and benchmarks
        st.interactive = !st.hidden && l.style.interactive && (density || l.tooltip.length > 0);
        return st;
      }
    });
    group.wgKeys = keys;
    group.on('mouseover mousemove', function (e) {
      var fl = e.layer || e.propagatedFrom;
      if (!fl || !fl.layerName) return;
      var l = byTileName[fl.layerName];
      if (l) showTip(e.latlng, tipFor(l, fl.properties, !!(l.density && fl.layerName === l.density.layer)));
    });
    group.on('mouseout', hideTip);
    group.on('tileerror', function (e) { note('tiles', '部分瓦片加载失败，请稍后重试'); P.errors.push(String(e.error)); });
    group.once('load', function () { requestAnimationFrame(function () { mark('firstView'); }); });
    group.on('load', function () { P.tilesLoaded = (P.tilesLoaded || 0) + 1; });
    group.addTo(map);
    tileGroups.push(group);
    return group;
  }
  P.loading = function () { return tileGroups.some(function (g) { return g.isLoading(); }); };
  function restyleTiles() { tileGroups.forEach(function (g) { g.setStyle(g.options.style); }); }

  // an exported map's tiles hold every tile layer at once: one group, layers shown and hidden by style
  var firstTiles = CFG.layers.filter(function (l) { return l.source === 'tiles' && (l.on || CFG.bundleAll); })
    .map(function (l) { return l.key; });
  var tileHome = {};
  if (firstTiles.length) {
    var g0 = tileGroup(firstTiles);
    firstTiles.forEach(function (k) { tileHome[k] = g0; });
  } else {
    mark('firstView');
  }
  function showTileLayer(key) {
    if (!tileHome[key]) tileHome[key] = tileGroup([key]); else restyleTiles();
  }

  // -- GeoJSON layers ----------------------------------------------------------------------------------------------
  var labels = new W.Labels(map);
  var geo = {};  // key -> Leaflet layer
  var present = {};  // key -> {category: true}: which categories a layer holds (its legend shows only those)
  function layerUrl(l, bbox) {
    var v = l.scope === 'plans' ? CFG.versions.plans : CFG.versions.area;
    var url = CFG.urls.layer.replace('{key}', l.key).replace('{v}', encodeURIComponent(v));
    return bbox ? url + (url.indexOf('?') < 0 ? '?' : '&') + 'bbox=' + bbox : url;
  }
  function fetchJson(url) {
    return fetch(url).then(function (r) {
      if (r.ok) return r.json();
      // a problem+json answer says what went wrong in Chinese
      return r.json().catch(function () { return {}; }).then(function (p) {
        var e = new Error(p.detail_zh || p.title_zh || String(r.status));
        e.status = r.status; e.problem = p; throw e;
      });
    });
  }
  function markerIcon(l, props) {
    var c = (l.style.by && l.style.categories[props[l.style.by]]) || {colour: '#666', glyph: '·'};
    return L.divIcon({className: '', iconSize: [26, 26], iconAnchor: [13, 13],
      html: '<div class="wg-icon" style="background:' + esc(c.colour) + '">' + esc(c.glyph || '') + '</div>'});
  }
  function pointsLayer(l, fc) {
    var group = l.cluster ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40, chunkedLoading: true,
                                                   spiderfyOnMaxZoom: true})
                          : L.featureGroup();
    var cats = present[l.key] = {};
    fc.features.forEach(function (f) {
      var c = f.geometry.coordinates, props = f.properties, m;
      if (l.style.by) cats[props[l.style.by]] = true;
      if (l.kind === 'marker') m = L.marker([c[1], c[0]], {icon: markerIcon(l, props), keyboard: false});
      else m = L.circleMarker([c[1], c[0]], pathStyle(l, props));
      if (l.tooltip.length) m.bindTooltip(W.tooltipHtml(l.tooltip, props, l.name), {direction: 'top', offset: [0, -10]});
      m.feature = f;
      group.addLayer(m);
    });
    return group;
  }
  function shapesLayer(l, fc) {
    return L.geoJSON(fc, {
      interactive: l.style.interactive && l.tooltip.length > 0,
      style: function (f) { return pathStyle(l, f.properties); },
      onEachFeature: function (f, layer) {
        if (l.tooltip.length) layer.bindTooltip(W.tooltipHtml(l.tooltip, f.properties, l.name), {sticky: true});
      }
    });
  }
  function labelText(l, props) {
    var html = esc(props[l.label.field]);
    if (l.label.second) {
      var second = W.formatValue(l.label.second, props);
      if (second !== null) html += '<small>' + esc(second) + '</small>';
    }
    if (l.label.alert && props[l.label.alert]) html += '<small>' + esc(props[l.label.alert]) + '</small>';
    return html;
  }
  var LABEL_CLASS = {grid_labels: 'wg-grid', village_labels: 'wg-village', street_labels: 'wg-street'};
  function labelsFor(l, fc) {
    labels.remove(function (it) { return it.layer === l.key; });
    fc.features.forEach(function (f) {
      var c = f.geometry.coordinates, props = f.properties;
      if (!props[l.label.field]) return;
      var cls = (LABEL_CLASS[l.key] || '') + (l.label.alert && props[l.label.alert] ? ' wg-alert' : '');
      labels.add({
        layer: l.key,
        marker: W.labelMarker([c[1], c[0]], labelText(l, props), cls),
        priority: l.label.priority ? Number(props[l.label.priority]) || 0 : 0,
        rank: l.label.rank || 0,
        visible: function () {
          return visible[l.key] && map.getZoom() >= l.minZoom && (!l.label.follows || visible[l.label.follows] !== false);
        }
      });
    });
  }
  function loadGeo(l) {
    if (l.source === 'bbox') return bboxLayer(l);
    if (geo[l.key] || l.loading) return Promise.resolve();
    l.loading = true;
    return fetchJson(layerUrl(l)).then(function (fc) {
      if (l.kind === 'label') { labelsFor(l, fc); geo[l.key] = true; }
      else {
        geo[l.key] = (l.kind === 'marker' || l.kind === 'point') ? pointsLayer(l, fc) : shapesLayer(l, fc);
        if (visible[l.key] && map.getZoom() >= l.minZoom) geo[l.key].addTo(map);
        renderLegend();
      }
      mark('layer:' + l.key);
    }).catch(function (e) { note(l.key, l.name + '：加载失败（' + e.message + '）'); P.errors.push(l.key + ' ' + e.message); });
  }
  var bboxSeq = {};
  function bboxLayer(l) {
    function refresh() {
      if (!visible[l.key] || map.getZoom() < l.minZoom) return;
      var b = map.getBounds().pad(0.2), my = bboxSeq[l.key] = (bboxSeq[l.key] || 0) + 1;
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(',');
      return fetchJson(layerUrl(l, bbox)).then(function (fc) {
        if (my !== bboxSeq[l.key]) return;
        if (l.kind === 'label') labelsFor(l, fc);
      }).catch(function (e) { note(l.key, l.name + '：加载失败（' + e.message + '）'); });
    }
    if (!l.bboxBound) { l.bboxBound = true; map.on('moveend', refresh); }
    return refresh() || Promise.resolve();
  }
  function syncGeo(l) {
    if (l.source === 'tiles') return;
    if (l.kind === 'label') { labels.schedule(); if (visible[l.key]) loadGeo(l); return; }
    var layer = geo[l.key];
    var want = visible[l.key] && map.getZoom() >= l.minZoom;
    if (want && !layer) { loadGeo(l); return; }
    if (layer && want && !map.hasLayer(layer)) layer.addTo(map);
    if (layer && !want && map.hasLayer(layer)) map.removeLayer(layer);
  }
  CFG.layers.forEach(function (l) {
    if (l.source === 'tiles') return;
    if (l.on || (l.kind === 'label' && l.label.follows && visible[l.label.follows])) { visible[l.key] = true; loadGeo(l); }
  });
  map.on('zoomend', function () { CFG.layers.forEach(function (l) { if (l.minZoom && l.source !== 'tiles') syncGeo(l); }); renderLegend(); });

  function setVisible(key, on) {
    visible[key] = on;
    var l = byKey[key];
    if (l.source === 'tiles') { if (on) showTileLayer(key); else restyleTiles(); }
    else syncGeo(l);
    CFG.layers.forEach(function (x) {  // labels follow their polygons
      if (x.kind === 'label' && x.label.follows === key) { visible[x.key] = on; syncGeo(x); }
    });
    labels.schedule();
    renderLegend();
  }

  // -- layers and legend: one collapsible panel ---------------------------------------------------------------------
  function swatch(l, colour, opts) {
    opts = opts || {};
    if (l.kind === 'line' || opts.line) {
      return '<span class="wg-sw wg-line" style="border-top-color:' + esc(colour) + ';border-top-width:' + Math.max(2, Math.min(5, opts.weight || 2)) + 'px' +
        (opts.dash ? ';border-top-style:dashed' : '') + '"></span>';
    }
    if (l.kind === 'point') return '<span class="wg-dot" style="background:' + esc(colour) + '"></span>';
    return '<span class="wg-sw" style="background:' + esc(opts.fill || 'transparent') + ';border-color:' + esc(colour) +
      (opts.dash ? ';border-style:dashed' : '') + (opts.weight ? ';border-width:' + Math.min(3, opts.weight) + 'px' : '') + '"></span>';
  }
  function legendRows(l) {
    var s = l.style, rows = [], seen = {};
    if (s.bins.length) s.bins.forEach(function (b) { rows.push(swatch(l, s.colour, {fill: b[1]}) + esc(b[2])); });
    if (Object.keys(s.categories).length) {
      Object.keys(s.categories).forEach(function (v) {
        var c = s.categories[v];
        if (seen[c.label] || (present[l.key] && !present[l.key][v])) return;
        seen[c.label] = true;
        if (l.kind === 'marker') rows.push('<span class="wg-icon" style="background:' + esc(c.colour) + '">' + esc(c.glyph || '') + '</span>' + esc(c.label));
        else rows.push(swatch(l, c.colour, {weight: c.weight, fill: c.colour}) + esc(c.label));
      });
    }
    if (s.colourFrom) rows.push(swatch(l, s.colour, {fill: '#bebada', weight: s.weight}) + '每个网格一种颜色');
    s.highlights.forEach(function (h) {
      rows.push(swatch(l, h.colour || s.colour, {fill: s.fill ? '#eeeeee' : null, dash: h.dash, weight: h.weight || s.weight}) + esc(h.label));
    });
    if (l.density && map.getZoom() < l.density.detailZoom) {
      rows = l.density.bins.map(function (b) { return swatch(l, '#bbb', {fill: b[1]}) + esc(b[2]); });
    }
    return rows;
  }
  var legend = L.control({position: 'topright'});
  var legendDiv;
  legend.onAdd = function () {
    legendDiv = L.DomUtil.create('div', 'wg-legend');
    legendDiv.innerHTML = '<details' + (window.innerWidth >= 900 && window.innerHeight >= 600 ? ' open' : '') +
      '><summary>图层与图例</summary><div class="wg-body"></div></details>';
    L.DomEvent.disableClickPropagation(legendDiv);
    L.DomEvent.disableScrollPropagation(legendDiv);
    legendDiv.addEventListener('change', function (e) {
      var key = e.target && e.target.getAttribute('data-layer');
      if (key) setVisible(key, e.target.checked);
    });
    return legendDiv;
  };
  legend.addTo(map);
  function renderLegend() {
    if (!legendDiv) return;
    var body = legendDiv.querySelector('.wg-body'), html = '', group = null, zoom = map.getZoom();
    CFG.layers.forEach(function (l) {
      if (!l.legend) return;
      if (l.group !== group) { group = l.group; html += '<h4>' + esc(group) + '</h4>'; }
      var on = visible[l.key];
      html += '<label class="wg-layer"><input type="checkbox" data-layer="' + esc(l.key) + '"' + (on ? ' checked' : '') + '>' +
        esc(l.name) + (l.minZoom && zoom < l.minZoom ? ' <span class="wg-zoomnote">（放大到第' + l.minZoom + '级显示）</span>' : '') + '</label>';
      if (!on) return;
      var rows = legendRows(l);
      if (rows.length) html += '<div class="wg-rows">' + rows.map(function (r) { return '<div class="wg-row">' + r + '</div>'; }).join('') + '</div>';
      if (l.density && zoom < l.density.detailZoom) html += '<div class="wg-note">' + esc(l.density.note) + '</div>';
      if (l.note) html += '<div class="wg-note">' + esc(l.note) + '</div>';
    });
    body.innerHTML = html;
  }
  renderLegend();

  // -- where am I, where can I go ---------------------------------------------------------------------------------------
  function navHtml() {
    var n = CFG.nav, a = CFG.area, html = '<div class="wg-crumbs">';
    html += n.crumbs.map(function (c) { return c.href ? '<a href="' + esc(c.href) + '">' + esc(c.label) + '</a>' : esc(c.label); }).join(' › ');
    html += '</div><h1>' + esc(n.title) + '</h1><div class="wg-sub">' + esc(n.subtitle) + '</div>';
    if (n.summary) html += '<div class="wg-summary">' + esc(n.summary) + '</div>';
    if (n.warning) html += '<div class="wg-summary wg-warn">' + esc(n.warning) + '</div>';
    html += '<div class="wg-tabs">' + n.tabs.map(function (t) {
      return t.current ? '<span class="wg-here">' + esc(t.label) + '</span>' : '<a href="' + esc(t.href) + '">' + esc(t.label) + '</a>';
    }).join('') + '</div>';
    if (n.plans && n.plans.length) {
      html += '<details' + (n.plansOpen ? ' open' : '') + '><summary>' + esc(n.plansTitle) + '</summary><ul class="wg-plans">' +
        n.plans.map(function (p) {
          return '<li>' + esc(p.community) + ' <span class="wg-state">' + esc(p.state) + '</span><br>' +
            p.links.map(function (k) { return '<a href="' + esc(k.href) + '">' + esc(k.label) + '</a>'; }).join(' · ') + '</li>';
        }).join('') + '</ul></details>';
    }
    return html;
  }
  var nav = document.createElement('nav');
  nav.className = 'wg-nav';
  nav.innerHTML = navHtml();
  document.body.appendChild(nav);
  L.DomEvent.disableClickPropagation(nav);
  L.DomEvent.disableScrollPropagation(nav);
  // the zoom-to-fit behaviour must not hide the area under the nav box: nothing to do, fitBounds pads a little

  // -- the place under a click ------------------------------------------------------------------------------------------
  var panel = document.createElement('aside');
  panel.className = 'wg-panel';
  panel.hidden = true;
  document.body.appendChild(panel);
  L.DomEvent.disableClickPropagation(panel);
  L.DomEvent.disableScrollPropagation(panel);
  function section(title, rows) {
    var body = rows.filter(function (r) { return r[1] !== null && r[1] !== undefined && r[1] !== ''; })
      .map(function (r) { return '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>'; }).join('');
    return '<h4>' + esc(title) + '</h4>' + (body ? '<table class="wg-tip">' + body + '</table>' : '<div>—</div>');
  }
  function hh(n, est) { return n === null || n === undefined ? null : W.NF.format(n) + ' 户' + (est ? '（估算）' : ''); }
  // The sections other jobs add to the answer (issue 13): each shown only when it holds something, values escaped.
  var MODE = {walk: '步行', ebike: '电动车', drive: '驾车'};
  var CAMERA_STATUS = {online: '在线', offline: '离线', fault: '故障'};
  function minutes(m) { return (Math.round(Number(m) * 10) / 10).toFixed(1).replace(/\.0$/, '') + ' 分钟'; }
  function metres(n) { n = Number(n); return n < 1000 ? Math.round(n) + ' 米' : (n / 1000).toFixed(n < 10000 ? 2 : 1) + ' 公里'; }
  // one entry per item: its name on a line, what matters about it below (long names wrap, never squeeze)
  function itemsHtml(title, items) {
    return '<h4>' + esc(title) + '</h4><ul class="wg-items">' + items.map(function (it) {
      return '<li><div class="wg-item-name">' + esc(it.name) + (it.tag ? ' <span class="wg-tag">' + esc(it.tag) + '</span>' : '') +
        '</div>' + (it.detail ? '<div class="wg-item-detail">' + esc(it.detail) + '</div>' : '') + (it.html || '') + '</li>';
    }).join('') + '</ul>';
  }
  function dutyHtml(items) {
    if (!items || !items.length) return '';
    return itemsHtml('最近的勤务点（到达时间）', items.map(function (d) {
      var times = Object.keys(MODE).filter(function (m) { return d.minutes && d.minutes[m] !== null && d.minutes[m] !== undefined; })
        .map(function (m) { return MODE[m] + ' ' + minutes(d.minutes[m]); });
      return {name: d.name || d.kind_zh || '勤务点', tag: d.first ? '最先到达' : null,
        detail: (d.name && d.kind_zh ? d.kind_zh + ' · ' : '') + (times.length ? times.join('，') : '无道路可达')};
    }));
  }
  function camerasHtml(items, title) {
    if (!items || !items.length) return '';
    return itemsHtml((title || '能看到此处的监控') + '（' + items.length + ' 个）', items.map(function (cam) {
      var bits = [];
      if (cam.device_id && cam.device_id !== cam.name) bits.push('编号 ' + cam.device_id);
      if (cam.status) bits.push(CAMERA_STATUS[cam.status] || String(cam.status));
      if (cam.distance_m !== null && cam.distance_m !== undefined) bits.push('相距 ' + metres(cam.distance_m));
      return {name: cam.name || cam.device_id || '监控点', detail: bits.join(' · ')};
    }));
  }
  function routesHtml(items) {
    if (!items || !items.length) return '';
    return itemsHtml('经过此处的巡查路线', items.map(function (r) {
      var bits = [];
      if (r.length_m !== null && r.length_m !== undefined) bits.push(metres(r.length_m));
      if (r.minutes !== null && r.minutes !== undefined) bits.push('约 ' + minutes(r.minutes));
      return {name: r.grid ? '网格 ' + r.grid : '社区路线', tag: r.stale ? '方案已调整，需重新规划' : null, detail: bits.join(' · '),
        html: CFG.urls.patrolBase ? '<a href="' + esc(CFG.urls.patrolBase + encodeURIComponent(r.route_id) + '.gpx') + '">下载 GPX</a>' : ''};
    }));
  }
  function showPlace(w) {
    var html = '<button class="wg-close" title="关闭">×</button><h3>此处</h3>';
    var c = w.community, g = w.grid, v = w.natural_village;
    if (!c && !g) html += '<div>此处不在任何社区/行政村内。</div>';
    if (c) html += section('社区/行政村', [['名称', c.name], ['代码', c.code + (c.code_provisional ? '（临时代码）' : '')], ['类别', c.class_zh], ['户数', hh(c.households, c.households_estimated)]]);
    if (v) html += section('自然村', [['名称', v.name], ['户数', hh(v.households, true)], ['范围', v.derived ? '推算' : '导入']]);
    if (g) {
      html += section('网格（采用方案）', [['编码', g.code], ['名称', g.name], ['网格员', g.worker || '未设置'], ['电话', g.phone || '未设置'],
        ['户数', hh(g.households, c ? c.households_estimated : true)], ['户数区间', g.in_band === false ? '超出区间' : g.in_band ? '区间内' : null]]);
      html += '<div><a href="' + esc(CFG.urls.planBase + encodeURIComponent(g.plan_id) + '/map') + '">方案地图</a> · <a href="' +
        esc(CFG.urls.planBase + encodeURIComponent(g.plan_id) + '/edit') + '">调整此网格</a></div>';
    } else if (c) {
      html += section('网格（采用方案）', [['', '此处尚无采用的网格方案']]);
    }
    html += dutyHtml(w.duty_points) + camerasHtml(w.cameras) +
      camerasHtml(w.cameras_out_of_service, '视野含此处但未在线的监控（修复后可覆盖）') + routesHtml(w.patrol_routes);
    panel.innerHTML = html;
    panel.hidden = false;
    panel.querySelector('.wg-close').onclick = function () { panel.hidden = true; };
    P.panel = w;
  }
  if (CFG.urls.where) {
    map.on('click', function (e) {
      var url = CFG.urls.where + '?lon=' + e.latlng.lng.toFixed(6) + '&lat=' + e.latlng.lat.toFixed(6);
      fetchJson(url).then(showPlace).catch(function (err) {
        if (err.status === 404 && err.problem && err.problem.context && err.problem.context.nearest_community) {
          panel.innerHTML = '<button class="wg-close" title="关闭">×</button><h3>此处</h3><div>' + esc(err.message) + '</div>';
          panel.hidden = false;
          panel.querySelector('.wg-close').onclick = function () { panel.hidden = true; };
          P.panel = err.problem;
        } else note('where', '查询失败（' + err.message + '）');
      });
    });
  }
  P.ready = true;
  mark('scriptDone');
})();
