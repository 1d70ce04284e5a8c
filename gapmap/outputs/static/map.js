/* gapmap: draws one map's layers from the JSON data that gapmap/outputs/maps.py puts in the page.
 *
 * Nothing here fetches anything. Every string in the data that reaches the page through
 * innerHTML (names, towns, popups, labels) was HTML-escaped in Python; this script adds
 * only its own markup and numbers. Search compares escaped text with an escaped query.
 *
 * The data (D) is declared once, by the TypedDicts MapData and the ones it names in
 * gapmap/outputs/maps.py; this script reads it by those names. A "table" is an object of
 * equal-length arrays, one per named column; indexes are 0-based rows of another table.
 *   title, region, bounds [[south, west], [north, east]], attribution, icons, confidential
 *   needs[]       {code, label, colour, thresholdMin}; a need's index is its position here
 *   services      table: name, organization, city, needs [need index], popup (HTML),
 *                 lat, lon (null: not on this map), confidential (0/1),
 *                 listedWithoutPoint (0/1)
 *   communities   table: name, cdName, population, enumerated (0/1), lat, lon,
 *                 remoteName ("" unless no all-season road), airHub, subdivision (0/1)
 *   travel[need]  table over communities: minutes (null: none), service (services row;
 *                 -1 none, -2 a hidden confidential service), access (index in access.codes);
 *                 travel is null when the map has no travel table
 *   gaps[need]    table: community (communities row), minutes, access
 *   access        {codes: [travel access values], text: [their words]}
 *   towns         table: name, population, lat, lon, community (row, or -1)
 *   base          {province, regions [{name, polygons}], censusDivisions, highways,
 *                 expressways}: Leaflet polygons and polylines of [lat, lon]
 *   gapColours[]  {uptoMin (null: no bound), colour}; noTimeColour
 *   osm           {url, attribution}; footer {vintage, generated, config, fingerprint, version}
 */
(function () {
  "use strict";

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  function fold(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function div(cls, html) {
    var d = document.createElement("div");
    d.className = cls;
    if (html) { d.innerHTML = html; }
    return d;
  }
  function fmt(n) { return Number(n).toLocaleString("en-CA"); }
  function minutes(t) { return t === null ? "" : (t < 1 ? "&lt;1 min" : fmt(t) + " min"); }
  function radius(pop) { return Math.min(28, 3 + Math.sqrt(Math.max(pop, 0)) / 15); }
  // a table {column: [values]} as rows [{column: value}]
  function rows(table) {
    var names = Object.keys(table), out = [];
    var n = names.length ? table[names[0]].length : 0;
    for (var i = 0; i < n; i++) {
      var row = {};
      for (var j = 0; j < names.length; j++) { row[names[j]] = table[names[j]][i]; }
      out.push(row);
    }
    return out;
  }
  function swatch(colour, cls) {
    return '<span class="gm-sw ' + (cls || "") + '" style="background:' + colour + '"></span>';
  }

  function gapmapInit(map, D) {
    var L = window.L;
    var needs = D.needs, S = rows(D.services), C = D.communities, T = D.towns;
    var api = { map: map, data: D };
    window.gapmap = api;

    map.setMinZoom(4);
    map.setMaxZoom(14);  // the basemap is drawn at about 100 m
    // Leaflet's default marker images, should anything use them: data URIs, no fetch
    L.Icon.Default.imagePath = "";
    L.Icon.Default.mergeOptions(D.icons);
    map.attributionControl.addAttribution(D.attribution);

    function pane(name, z, passive) {
      var p = map.createPane(name);
      p.style.zIndex = z;
      if (passive) { p.style.pointerEvents = "none"; }
      return name;
    }
    pane("gm-base", 350, true);
    pane("gm-points", 450, false);
    pane("gm-labels", 590, true);
    var dots = L.canvas({ pane: "gm-points", padding: 0.2, tolerance: 3 });

    function gapColour(t) {
      if (t === null) { return D.noTimeColour; }
      for (var i = 0; i < D.gapColours.length; i++) {
        var upto = D.gapColours[i].uptoMin;
        if (upto === null || t <= upto) { return D.gapColours[i].colour; }
      }
      return D.noTimeColour;
    }

    // -- basemap: vector layers drawn from the file ------------------------------------
    var province = L.polygon(D.base.province, {
      pane: "gm-base", color: "#6f6f6f", weight: 1.2, fillColor: "#fbfaf5", fillOpacity: 1,
      interactive: false
    }).addTo(map);
    var cds = L.polygon(D.base.censusDivisions, {
      pane: "gm-base", color: "#a3a3a3", weight: 0.8, fill: false, interactive: false
    }).addTo(map);
    var regions = L.layerGroup(D.base.regions.map(function (r) {
      return L.polygon(r.polygons, { pane: "gm-base", color: "#1b1b1b", weight: 2.5, fill: false,
                               interactive: false });
    })).addTo(map);
    var highways = L.layerGroup([
      L.polyline(D.base.highways, { pane: "gm-base", color: "#e08a3c", weight: 1.6,
                               interactive: false }),
      L.polyline(D.base.expressways, { pane: "gm-base", color: "#c0392b", weight: 2.6,
                               interactive: false })
    ]).addTo(map);
    var osm = L.tileLayer(D.osm.url, { attribution: D.osm.attribution, maxZoom: 19 });
    osm.on("add", function () { province.setStyle({ fillOpacity: 0.1 }); });
    osm.on("remove", function () { province.setStyle({ fillOpacity: 1 }); });

    // towns: dots, and labels placed biggest first where they do not collide
    var towns = L.layerGroup().addTo(map);
    var labels = L.layerGroup().addTo(map);
    var townLabels = [];
    for (var ti = 0; ti < T.name.length; ti++) {
      (function (i) {
        var dot = L.circleMarker([T.lat[i], T.lon[i]], {
          renderer: dots, radius: 2.5, color: "#333", weight: 1, fillColor: "#fff",
          fillOpacity: 1
        }).bindTooltip(T.name[i] + (T.population[i] ? " (pop. " + fmt(T.population[i]) + ")" : ""));
        dot.on("click", function () {
          if (T.community[i] >= 0) { showCommunity(T.community[i], -1, T.name[i]); }
        });
        towns.addLayer(dot);
        townLabels.push(L.marker([T.lat[i], T.lon[i]], {
          pane: "gm-labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "gm-label", html: T.name[i], iconSize: null })
        }));
      })(ti);
    }
    function placeLabels() {
      labels.clearLayers();
      if (!map.hasLayer(towns)) { return; }
      var boxes = [];
      var z = map.getZoom();
      for (var i = 0; i < townLabels.length; i++) {
        if (z < 7 && T.population[i] < 1000) { continue; }
        var p = map.project([T.lat[i], T.lon[i]], z);
        var w = 6.2 * T.name[i].replace(/&[^;]+;/g, "x").length + 8;
        var b = [p.x + 4, p.y - 8, p.x + 4 + w, p.y + 6];
        var free = true;
        for (var j = 0; j < boxes.length && free; j++) {
          var o = boxes[j];
          free = b[2] < o[0] || b[0] > o[2] || b[3] < o[1] || b[1] > o[3];
        }
        if (free) { boxes.push(b); labels.addLayer(townLabels[i]); }
      }
    }
    map.on("zoomend", placeLabels);
    towns.on("add remove", placeLabels);

    // -- communities: a click lists the nearest service of each need ------------------
    var communities = L.layerGroup().addTo(map);
    var remote = L.layerGroup().addTo(map);
    var plane = L.divIcon({ className: "gm-plane", html: "&#9992;", iconSize: [18, 18] });
    for (var ci = 0; ci < C.name.length; ci++) {
      (function (i) {
        var layer;
        if (C.remoteName[i]) {
          layer = L.marker([C.lat[i], C.lon[i]], { icon: plane, title: "" })
            .bindTooltip(C.remoteName[i] + ": no all-season road");
          remote.addLayer(layer);
        } else {
          layer = L.circleMarker([C.lat[i], C.lon[i]], {
            renderer: dots, radius: 2, stroke: false, fillColor: "#4a5a6a", fillOpacity: 0.55
          }).bindTooltip(C.name[i]);
          communities.addLayer(layer);
        }
        layer.on("click", function () { showCommunity(i, -1); });
      })(ci);
    }

    // -- services: one clustered marker each; a need's box shows those that meet it ----
    var icons = {};
    function icon(colour, conf) {
      var key = colour + (conf ? "c" : "");
      if (!icons[key]) {
        icons[key] = L.divIcon({
          className: "gm-svc" + (conf ? " gm-conf" : ""), iconSize: [16, 16],
          html: '<span style="background:' + colour + '"></span>'
        });
      }
      return icons[key];
    }
    var cluster = L.markerClusterGroup({
      maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true
    }).addTo(map);
    var markers = S.map(function (s, i) {
      if (s.lat === null) { return null; }
      s.needs.sort(function (a, b) { return a - b; });
      var m = L.marker([s.lat, s.lon], { icon: icon(needs[s.needs[0]].colour, s.confidential),
                                         title: "" });
      m.bindPopup(s.popup, { maxWidth: 320 });
      m.bindTooltip(s.name + (s.confidential ? " (location withheld)" : ""));
      m.gmIndex = i;
      return m;
    });
    var needLayers = needs.map(function () { return L.layerGroup().addTo(map); });
    var shown = [];
    function refresh() {
      var on = needLayers.map(function (l) { return map.hasLayer(l); });
      var visible = [];
      markers.forEach(function (m, i) {
        if (!m) { return; }
        var k = S[i].needs.filter(function (n) { return on[n]; });
        if (k.length) {
          m.setIcon(icon(needs[k[0]].colour, S[i].confidential));
          visible.push(m);
        }
      });
      cluster.clearLayers();
      cluster.addLayers(visible);
      shown = visible;
    }
    needLayers.forEach(function (l) { l.on("add remove", refresh); });
    refresh();

    // -- gap communities per need (drawn when first ticked) -----------------------------
    var gapLayers = needs.map(function (need, n) {
      var layer = L.layerGroup();
      var drawn = false;
      layer.on("add", function () {
        if (drawn) { return; }
        drawn = true;
        rows(D.gaps[n]).forEach(function (g) {
          var i = g.community, t = g.minutes, words = D.access.text[g.access];
          var text = t === null ? words : minutes(t) + (words ? ", " + words : "");
          var c = L.circleMarker([C.lat[i], C.lon[i]], {
            renderer: dots, radius: radius(C.population[i]), color: gapColour(t), weight: 1,
            fillColor: gapColour(t), fillOpacity: 0.55
          }).bindTooltip("<b>" + C.name[i] + "</b><br>pop. " + fmt(C.population[i]) + "<br>" +
                         need.label + ": " + text);
          c.on("click", function () { showCommunity(i, n); });
          layer.addLayer(c);
        });
      });
      return layer;
    });

    // -- layer control, grouped, with all/none for the need boxes ----------------------
    function servicesWith(n) {
      return markers.filter(function (m, i) { return m && S[i].needs.indexOf(n) >= 0; }).length;
    }
    // a heading before the first layer of each group; a click on it folds the group
    var Grouped = L.Control.Layers.extend({
      _addItem: function (obj) {
        var label = L.Control.Layers.prototype._addItem.call(this, obj);
        var group = obj.layer.gmGroup;
        if (group && group.layers[0] === obj.layer) {
          var h = div("gm-lc-head" + (group.folded ? " gm-folded" : ""),
                      '<span class="gm-fold">' + group.title + "</span>" +
                      (group.allNone ? ' <a href="#" data-all="1">all</a> &middot; ' +
                                       '<a href="#" data-all="0">none</a>' : ""));
          label.parentNode.insertBefore(h, label);
          var control = this;
          L.DomEvent.on(h.querySelector(".gm-fold"), "click", function () {
            group.folded = !group.folded;
            control._update();
          });
          Array.prototype.forEach.call(h.querySelectorAll("a[data-all]"), function (a) {
            L.DomEvent.on(a, "click", function (e) {
              L.DomEvent.preventDefault(e);
              var all = a.getAttribute("data-all") === "1";
              group.layers.forEach(function (l) {
                if (all) { map.addLayer(l); } else { map.removeLayer(l); }
              });
            });
          });
        }
        if (group && group.folded) { label.style.display = "none"; }
        return label;
      }
    });
    var control = new Grouped(null, null, {
      collapsed: window.innerWidth < 700, sortLayers: false
    });
    function group(title, layers, folded, allNone) {
      var g = { title: title, layers: layers, folded: folded, allNone: allNone };
      layers.forEach(function (l) { l.gmGroup = g; });
      return g;
    }
    group("Services by need", needLayers, false, true);
    needs.forEach(function (need, n) {
      control.addOverlay(needLayers[n], swatch(need.colour) + need.label +
                         ' <small>(' + servicesWith(n) + ')</small>');
    });
    var sameTh = needs.every(function (need) { return need.thresholdMin === needs[0].thresholdMin; });
    group("Gap communities" + (sameTh ? " (&gt; " + needs[0].thresholdMin + " min)" : ""), gapLayers,
          true, false);
    needs.forEach(function (need, n) {
      control.addOverlay(gapLayers[n], swatch(gapColour(200), "gm-round") + need.label +
                         (sameTh ? "" : " &gt; " + need.thresholdMin + " min") +
                         ' <small>(' + D.gaps[n].community.length + ')</small>');
    });
    var baseLayers = [
      [communities, swatch("#4a5a6a", "gm-round gm-tiny") + "Communities (click: nearest services)"],
      [remote, "&#9992; No all-season road"],
      [towns, swatch("#fff", "gm-round gm-town") + "Towns"],
      [highways, swatch("#c0392b", "gm-line") + "King's Highways"],
      [regions, swatch("#1b1b1b", "gm-line") + "OPP region outline"],
      [cds, swatch("#a3a3a3", "gm-line") + "Census divisions"],
      [province, swatch("#fbfaf5", "gm-box") + "Ontario"],
      [osm, "OpenStreetMap tiles (online only)"]
    ];
    group("Basemap", baseLayers.map(function (b) { return b[0]; }), false, false);
    baseLayers.forEach(function (b) { control.addOverlay(b[0], b[1]); });
    control.addTo(map);

    // -- search by service or town ---------------------------------------------------
    var index = [];
    var KINDS = ["town", "community", "service"];
    S.forEach(function (s, i) {
      if (s.lat === null && !s.listedWithoutPoint) { return; }
      index.push({ kind: "service", i: i, key: fold(s.name + " " + s.organization + " " + s.city),
                   html: s.name + ' <small>' + (s.city || "") + (s.lat === null ? ", no point" : "") +
                         "</small>" });
    });
    T.name.forEach(function (n, i) {
      index.push({ kind: "town", i: i, key: fold(n), html: n + " <small>town</small>" });
    });
    C.name.forEach(function (n, i) {
      if (C.subdivision[i] || C.remoteName[i]) {
        index.push({ kind: "community", i: i, key: fold(C.remoteName[i] || n),
                     html: (C.remoteName[i] || n) + " <small>community</small>" });
      }
    });
    var Search = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = div("gm-search leaflet-bar");
        box.innerHTML = '<input type="search" placeholder="Search a service or town" ' +
                        'aria-label="Search a service or town" autocomplete="off"><ul></ul>';
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var input = box.querySelector("input"), list = box.querySelector("ul");
        var hits = [];
        function pick(h) {
          list.innerHTML = "";
          input.blur();
          if (h.kind === "service") { focusService(h.i); }
          else if (h.kind === "town") {
            map.setView([T.lat[h.i], T.lon[h.i]], Math.max(map.getZoom(), 10));
            if (T.community[h.i] >= 0) { showCommunity(T.community[h.i], -1, T.name[h.i]); }
          } else {
            map.setView([C.lat[h.i], C.lon[h.i]], Math.max(map.getZoom(), 10));
            showCommunity(h.i, -1);
          }
        }
        input.addEventListener("input", function () {
          var q = fold(esc(input.value.trim()));
          list.innerHTML = "";
          hits = [];
          if (q.length >= 2) {
            index.forEach(function (h) {
              var at = h.key.indexOf(q);
              if (at < 0) { return; }
              // names that start with the query first, then words that do; towns first
              var rank = at === 0 ? 0 : /[^a-z0-9]/.test(h.key.charAt(at - 1)) ? 1 : 2;
              hits.push({ h: h, r: rank * 3 + KINDS.indexOf(h.kind) });
            });
            hits = hits.sort(function (a, b) { return a.r - b.r; }).slice(0, 12)
              .map(function (x) { return x.h; });
          }
          hits.forEach(function (h) {
            var li = document.createElement("li");
            li.innerHTML = h.html;
            li.addEventListener("click", function () { pick(h); });
            list.appendChild(li);
          });
          if (q.length >= 2 && !hits.length) { list.innerHTML = "<li class=gm-none>No match</li>"; }
        });
        input.addEventListener("keydown", function (e) {
          if (e.key === "Enter" && hits.length) { pick(hits[0]); }
          if (e.key === "Escape") { input.value = ""; list.innerHTML = ""; }
        });
        return box;
      }
    });
    new Search().addTo(map);

    // -- the panel: a community's nearest services, or a service without a point -------
    var Panel = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var p = div("gm-panel");
        p.style.display = "none";
        L.DomEvent.disableClickPropagation(p);
        L.DomEvent.disableScrollPropagation(p);
        return p;
      }
    });
    var panel = new Panel().addTo(map).getContainer();
    function openPanel(html) {
      panel.innerHTML = '<button type="button" class="gm-close" aria-label="Close">&times;</button>' + html;
      panel.style.display = "block";
      fitPanel();
      panel.querySelector(".gm-close").addEventListener("click", function () {
        panel.style.display = "none";
      });
      Array.prototype.forEach.call(panel.querySelectorAll("a[data-s]"), function (a) {
        a.addEventListener("click", function (e) {
          e.preventDefault();
          focusService(Number(a.getAttribute("data-s")));
        });
      });
    }
    // the panel takes the left column down to the scale bar
    function fitPanel() {
      if (panel.style.display === "none") { return; }
      var bottom = map.getContainer().getBoundingClientRect().bottom - 60;
      panel.style.maxHeight = Math.max(bottom - panel.getBoundingClientRect().top, 160) + "px";
    }
    window.addEventListener("resize", fitPanel);
    function serviceLink(i) {
      if (i === -2) { return "<i>a confidential service</i>"; }
      if (i < 0) { return "<i>none placed</i>"; }
      var s = S[i];
      return '<a href="#" data-s="' + i + '">' + s.name + "</a>" + (s.city ? " <small>" + s.city + "</small>" : "") +
             (s.confidential ? ' <small class="gm-withheld">location withheld</small>' : "") +
             (s.listedWithoutPoint ? " <small>(no point)</small>"
                                   : s.lat === null ? " <small>(not on this map)</small>" : "");
    }
    function showCommunity(i, focus, via) {
      var remoteName = C.remoteName[i], name = C.name[i];
      var head = "<h3>" + (remoteName || name) + "</h3><div class=gm-sub>" +
                 (via ? "Town " + via + ": nearest community point " + name + "<br>" : "") +
                 (remoteName && remoteName !== name ? name + ", " : "") + C.cdName[i] + " &middot; " +
                 (C.enumerated[i] ? "pop. " + fmt(C.population[i]) : "not enumerated in 2021") + "</div>";
      if (remoteName) {
        head += '<p class=gm-note>No all-season road: no drive time.' +
                (C.airHub[i] ? " Nearest air hub: " + C.airHub[i] + "." : "") + "</p>";
      }
      if (!D.travel) {
        openPanel(head + "<p>Travel times are not in this map.</p>");
        return;
      }
      var rows = needs.map(function (need, n) {
        var tr = D.travel[n], t = tr.minutes[i], a = tr.access[i], service = tr.service[i];
        var code = D.access.codes[a];
        var within = t !== null && (code === "road" || code === "estimate") && t <= need.thresholdMin;
        var when = t === null ? D.access.text[a] : minutes(t) + (code === "estimate" ? " (est.)" : "");
        return "<tr" + (n === focus ? ' class="gm-focus"' : "") + "><td>" + swatch(need.colour) +
               need.label + "</td><td>" + (service === -1 && t === null ? "" : serviceLink(service)) +
               '</td><td class="gm-t ' + (within ? "gm-ok" : "gm-far") + '">' + when + "</td></tr>";
      });
      openPanel(head + "<table><thead><tr><th>Need</th><th>Nearest service</th><th>Drive</th></tr>" +
                "</thead><tbody>" + rows.join("") + "</tbody></table>" +
                "<small>Drive time along King's Highways and local roads. Green: within the " +
                "need's threshold.</small>");
    }
    function focusService(i) {
      var m = markers[i];
      if (!m) {
        openPanel("<h3>Service</h3><div class=gm-card>" + S[i].popup + "</div>" +
                  (S[i].listedWithoutPoint ? "<small>Listed for this region without a point on the map.</small>"
                          : "<small>Not on this map.</small>"));
        return;
      }
      if (shown.indexOf(m) < 0) { map.addLayer(needLayers[S[i].needs[0]]); }
      cluster.zoomToShowLayer(m, function () { m.openPopup(); });
    }

    // -- legend, footer, print ------------------------------------------------------
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var f = D.footer;
        var unplaced = S.filter(function (s) { return s.listedWithoutPoint; });
        var gaps = D.gapColours.map(function (g, j) {
          var from = j ? D.gapColours[j - 1].uptoMin : null;
          return swatch(g.colour, "gm-round") +
                 (g.uptoMin === null ? "&gt; " + from : "&le; " + g.uptoMin) + " min";
        }).join(" ") + " " + swatch(D.noTimeColour, "gm-round") + "no drive time";
        var box = div("gm-legend");
        box.innerHTML =
          "<details open><summary><b>" + D.title + "</b></summary>" +
          '<div>' + swatch("#17becf", "gm-round gm-ring") + "Service, coloured by its first " +
          "ticked need; click for details. " + swatch("#fff", "gm-round gm-dash") +
          "Confidential: shown at its town, location withheld.</div>" +
          "<div>Gap communities, sized by population: " + gaps + "</div>" +
          "<div>&#9992; No all-season road: a gap for every need.</div>" +
          "<div>" + swatch("#4a5a6a", "gm-round gm-tiny") +
          "Community: click for the nearest service of each need.</div>" +
          (unplaced.length ? "<details class=gm-unplaced><summary>" + unplaced.length +
            " services listed without a point</summary><ul>" + unplaced.map(function (s) {
              return "<li>" + serviceLink(S.indexOf(s)) + "</li>";
            }).join("") + "</ul></details>" : "") +
          "</details>" +
          '<div class="gm-footer">Data: ' + f.vintage + " &middot; generated " + f.generated +
          " &middot; config " + f.config + " (" + f.fingerprint + ") &middot; gapmap " + f.version +
          ' <button type="button" class="gm-print">Print view</button></div>';
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        box.querySelector(".gm-print").addEventListener("click", function () { window.print(); });
        Array.prototype.forEach.call(box.querySelectorAll("a[data-s]"), function (a) {
          a.addEventListener("click", function (e) {
            e.preventDefault();
            focusService(Number(a.getAttribute("data-s")));
          });
        });
        return box;
      }
    });
    var legend = new Legend().addTo(map).getContainer();
    var wasOpen = [];
    window.addEventListener("beforeprint", function () {
      wasOpen = Array.prototype.map.call(legend.querySelectorAll("details"), function (d) {
        var o = d.open; d.open = true; return o;
      });
    });
    window.addEventListener("afterprint", function () {
      Array.prototype.forEach.call(legend.querySelectorAll("details"), function (d, j) {
        d.open = wasOpen[j];
      });
    });

    function resetView() {
      // a view set during a zoom animation would be undone when the animation ends
      if (map._animatingZoom) { map.once("zoomend", resetView); return; }
      var wide = window.innerWidth >= 700;
      map.fitBounds(D.bounds, { paddingTopLeft: [wide ? 40 : 5, 5], animate: false,
                                paddingBottomRight: [wide ? 300 : 5, 5] });
    }
    resetView();
    placeLabels();

    api.cluster = cluster;
    api.markers = markers;
    api.needLayers = needLayers;
    api.gapLayers = gapLayers;
    api.control = control;
    api.osm = osm;
    api.shown = function () { return shown.length; };
    api.showCommunity = showCommunity;
    api.focusService = focusService;
    api.resetView = resetView;
    api.ready = true;
  }

  window.gapmapInit = gapmapInit;
})();
