/* gapmap: draws one map's layers from the JSON data that gapmap/outputs/maps.py puts in the page.
 *
 * Nothing here fetches anything. Every string in the data that reaches the page through
 * innerHTML (names, towns, popups, labels) was HTML-escaped in Python; this script adds
 * only its own markup and numbers. Search compares folded escaped text with a folded,
 * escaped query.
 *
 * The data (D) is declared once, by the TypedDicts MapData and the ones it names in
 * gapmap/outputs/maps.py; this script reads it by those names. A "table" is an object of
 * equal-length arrays, one per named column; indexes are 0-based rows of another table.
 *   title, region, bounds [[south, west], [north, east]], attribution, attributionFr, icons,
 *   confidential
 *   language      "en" or "fr" when the page opens; farMin (minutes: farther is flagged)
 *   needs[]       {code, label, labelFr, colour, thresholdMin}; a need's index is its position
 *   services      table: name, organization, city, needs [need index], popup (HTML, both
 *                 languages), lat, lon (null: not on this map), confidential (0/1),
 *                 listedWithoutPoint (0/1), phone, staleYear (0: not dated as old),
 *                 hours ("" unknown), open247 (0/1), limit (HTML: whom it is limited to),
 *                 outreach (0/1), line (0/1): how it is delivered
 *   communities   table: name, cdName, population, enumerated (0/1), lat, lon,
 *                 remoteName ("" unless no all-season road), airHub, subdivision (0/1),
 *                 division (divisions row, or -1)
 *   travel[need]  table over communities: minutes (null: none), service (services row;
 *                 -1 none, -2 a hidden confidential service), access (index in access.codes);
 *                 travel is null when the map has no travel table
 *   gaps[need]    table: community (communities row), minutes, access, reachedBy (index
 *                 in reachedByCodes: what reaches it instead, outreach, line or none)
 *   reachedByCodes ["", "none", "outreach", "line", "hours_unknown"]
 *   reach         {sets [[services row]], community [set, or -1]}: the outreach services
 *                 and lines whose area holds each community (computed in gapmap)
 *   regionReach[need] {inPerson, outreachOnly, lineOnly, hoursUnknown, notReached} (0-1:
 *                 coverage_by_region.csv for the map's region), or null
 *   access        {codes: [travel access values], text: [their words]}
 *   towns         table: name, population, lat, lon, community (row, or -1)
 *   divisions     table: name, population, polygons, covered [need][division] (0-1 or null),
 *                 outreachOnly, lineOnly [need][division]: shares beyond the threshold
 *                 reached only by outreach / only by a line
 *   fsas          table: code, lat, lon, community (row, or -1)
 *   detachments   table: name, region, town (towns row): OPP detachments, for search
 *   search        table: kind (town, community, fsa, detachment, service), row (in its
 *                 table), keys ("|"-separated folded names, its own first): one entry per place
 *   bands[need]   [{minutes, polygons}], largest first; [] when the run has no catchments
 *   wrap          {counted, reached [per community; -1 unknown], missing [[need index]]}, or
 *                 null when the run has no wraparound table
 *   access2sfca   {per (100000), e2sfca [need][community] (null: not in the table), within
 *                 [need][community]: services within the threshold, basis [need]
 *                 (supply_basis), bands [[upper bound (null: none), colour]]}, or null
 *                 when the plan stage has not run (access_by_community.csv)
 *   suggestions   table: need, region, method, rank, site, cdName, lat, lon, popAdded,
 *                 pctBefore, pctAfter, caveat, caveatFr (suggested sites, one method)
 *   base          {province, regions [{name, polygons}], highways, expressways}: Leaflet
 *                 polygons and polylines of [lat, lon]
 *   gapColours[]  {uptoMin (null: no bound), colour}; noTimeColour
 *   osm           {url, attribution, attributionFr}; footer {vintage, generated, config, fingerprint, version}
 */
(function () {
  "use strict";

  // -- words: every interface string in English and French ------------------------------
  var WORDS = {
    search: ["Search a place, postal code or service", "Chercher un lieu, un code postal ou un service"],
    need: ["Need", "Besoin"],
    needShown: ["Need shown", "Besoin affiché"],
    servicesByNeed: ["Services by need", "Services par besoin"],
    gapLayer: ["Gap communities", "Collectivités mal desservies"],
    basemap: ["Basemap", "Fond de carte"],
    all: ["all", "tous"], none: ["none", "aucun"],
    summary: ["Share of people within reach, by census division", "Part de la population à portée, par division de recensement"],
    bands: ["Drive-time bands", "Zones de temps de route"],
    communitiesLayer: ["Communities (click: nearest services)", "Collectivités (clic : services les plus proches)"],
    noRoad: ["No all-season road", "Pas de route toutes saisons"],
    towns: ["Towns", "Villes"], highways: ["King's Highways", "Routes principales (King's Highways)"],
    regionOutline: ["OPP region outline", "Limites de la région de la PPO"],
    province: ["Ontario", "Ontario"],
    osm: ["OpenStreetMap tiles (online only)", "Tuiles OpenStreetMap (en ligne seulement)"],
    within: ["within", "à moins de"],
    service: ["Service", "Service"],
    serviceLegend: ["Service of the need shown; grey bubbles: several services. Click for details.",
                    "Service du besoin affiché; bulles grises : plusieurs services. Cliquez pour les détails."],
    confidentialLegend: ["Confidential: shown at its town, location withheld.",
                         "Confidentiel : placé à sa ville, adresse confidentielle."],
    gapLegend: ["Communities beyond the threshold, sized by population:", "Collectivités au-delà du seuil, selon la population :"],
    noDrive: ["no drive time", "aucun temps de route"],
    noRoadLegend: ["No all-season road: a gap for every need.", "Pas de route toutes saisons : un écart pour chaque besoin."],
    communityLegend: ["Community: click for the nearest service of each need.", "Collectivité : cliquez pour le service le plus proche de chaque besoin."],
    unplaced: ["services listed without a point", "services sans emplacement sur la carte"],
    data: ["Data", "Données"], generated: ["generated", "produite le"], config: ["config", "configuration"],
    printView: ["Print view", "Imprimer"],
    language: ["Français", "English"], languageLabel: ["Afficher en français", "Show in English"],
    townOf: ["Town", "Ville"], nearestPoint: ["nearest community point", "point de collectivité le plus proche"],
    cd: ["census division", "division de recensement"],
    pop: ["pop.", "pop."], notEnumerated: ["not enumerated in 2021", "non dénombrée en 2021"],
    noRoadNote: ["No all-season road: no drive time.", "Pas de route toutes saisons : aucun temps de route."],
    airHub: ["Nearest air hub:", "Plaque tournante aérienne la plus proche :"],
    noTravel: ["Travel times are not in this map.", "Les temps de route ne sont pas dans cette carte."],
    nearest: ["Nearest service", "Service le plus proche"], drive: ["Drive", "Route"],
    panelNote: ["Drive time along King's Highways and local roads. Green: within the need's threshold.",
                "Temps de route par les routes principales et locales. Vert : à l'intérieur du seuil du besoin."],
    noneWithin: ["None within", "Aucun à moins de"], nearestIs: ["nearest:", "le plus proche :"],
    tooFar: ["too far to be an answer", "trop loin pour être une réponse"],
    dated: ["listed as of", "inscrit en"], mayHaveEnded: ["may have ended", "a peut-être pris fin"],
    confidentialService: ["a confidential service", "un service confidentiel"],
    nonePlaced: ["none placed", "aucun placé"], noPoint: ["no point", "sans emplacement"],
    notOnMap: ["not on this map", "pas sur cette carte"], withheld: ["location withheld", "adresse confidentielle"],
    listedNoPoint: ["Listed for this region without a point on the map.", "Inscrit pour cette région sans emplacement sur la carte."],
    close: ["Close", "Fermer"], noMatch: ["No match", "Aucun résultat"],
    kindTown: ["town", "ville"], kindCommunity: ["community", "collectivité"], kindFsa: ["postal code", "code postal"],
    kindService: ["service", "service"],
    threshold: ["threshold", "seuil"], printOf: ["Gap map", "Carte des écarts"],
    printList: ["Services listed without a point on the map (area-wide, province-wide or lines)",
                "Services inscrits sans emplacement sur la carte (régionaux, provinciaux ou lignes)"],
    phone: ["Phone", "Téléphone"], sources: ["Sources", "Sources"],
    mapLabel: ["Map of service gaps", "Carte des écarts de services"],
    est: ["est.", "est."],
    alsoListed: ["also listed without a point (lines, outreach, area-wide)",
                 "aussi inscrits sans emplacement (lignes, services itinérants, régionaux)"],
    controls: ["Map controls", "Commandes de la carte"], details: ["Details", "Détails"],
    results: ["Search results", "Résultats de la recherche"],
    gapShort: ["beyond the threshold", "au-delà du seuil"],
    analysis: ["Wraparound, access and suggested sites", "Soutien global, accès et sites suggérés"],
    accessLayer: ["Services per 100,000 people (E2SFCA)", "Services pour 100 000 personnes (E2SFCA)"],
    accessLegend: ["each service within the threshold is shared among all the people who can reach it, nearer ones counting more.",
                   "chaque service à l'intérieur du seuil est partagé entre toutes les personnes qui peuvent l'atteindre, les plus proches comptant davantage."],
    accessCaveatUnit: ["Caveat: each listed service counts as one unit, whatever its size (the listings give no capacity).",
                       "Mise en garde : chaque service inscrit compte pour une unité, quelle que soit sa taille (les inscriptions ne donnent pas de capacité)."],
    accessCaveatCapacity: ["Supply: the capacity each listing gives.", "Offre : la capacité que donne chaque inscription."],
    perPeople: ["per 100,000 people", "pour 100 000 personnes"],
    servicesWithin: ["services within", "services à moins de"],
    serviceWithin: ["service within", "service à moins de"],
    accessNone: ["none within", "aucun à moins de"],
    under: ["under", "moins de"], orMore: ["or more", "ou plus"],
    wrapLayer: ["Needs within reach, per community", "Besoins à portée, par collectivité"],
    sitesLayer: ["Suggested sites for the need shown", "Sites suggérés pour le besoin affiché"],
    wrapLegend: ["Needs a community reaches within their thresholds (of", "Besoins qu'une collectivité atteint à l'intérieur de leur seuil (sur"],
    sitesLegend: ["Suggested site, by rank: where one more service would bring the most people within the threshold (see its caveat).",
                  "Site suggéré, par rang : où un service de plus mettrait le plus de personnes à portée (voir sa mise en garde)."],
    nearestEach: ["Enter: nearest service of each need", "Entrée : service le plus proche de chaque besoin"],
    zoomIn: ["Zoom in", "Zoom avant"], zoomOut: ["Zoom out", "Zoom arrière"],
    closePopup: ["Close popup", "Fermer la fenêtre"], layers: ["Layers", "Couches"],
    reachLegend: ["Ring: what reaches them instead", "Anneau : ce qui les atteint autrement"],
    reach_none: ["nothing else", "rien d'autre"],
    reach_outreach: ["outreach only", "des services itinérants seulement"],
    reach_line: ["a line only (phone, text, online)", "une ligne seulement (téléphone, texto, en ligne)"],
    reach_hours_unknown: ["services of unknown hours only", "des services aux heures inconnues seulement"],
    inCommunity: ["in the community", "dans la collectivité"],
    inCommunityLegend: ["Fly-in community with an in-person service of the need shown inside it.",
                        "Collectivité accessible par avion où se trouve un service en personne du besoin affiché."],
    open247: ["open 24/7", "ouvert 24 h sur 24, 7 j sur 7"],
    open247Legend: ["Gold corner: open 24/7.", "Coin doré : ouvert 24 h sur 24, 7 j sur 7."],
    onlyFor: ["only for", "seulement pour"], hours: ["hours", "heures"],
    outreachHere: ["Outreach that comes here", "Services itinérants qui viennent ici"],
    linesHere: ["Lines (phone, text, online) for here", "Lignes (téléphone, texto, en ligne) pour ici"],
    otherWays: ["outreach", "itinérants"], linesShort: ["lines", "lignes"],
    alsoHere: ["Also reaching here:", "Atteignent aussi ce lieu :"],
    regionReach: ["people reached", "population atteinte"],
    inPersonShort: ["in person", "en personne"], outreachOnlyShort: ["only by outreach", "seulement par des services itinérants"],
    lineOnlyShort: ["only by a line", "seulement par une ligne"], hoursUnknownShort: ["hours unknown", "heures inconnues"],
    notReachedShort: ["not reached", "non atteinte"]
  };
  var ACCESS_FR = {
    estimate: "estimation", no_all_season_road: "pas de route toutes saisons",
    beyond_road_network: "au-delà du réseau routier", no_service: "aucun service"
  };
  // a word in both languages; map.css shows the page's
  function w(key) {
    var p = WORDS[key];
    return '<span class="gm-en">' + p[0] + '</span><span class="gm-fr" lang="fr">' + p[1] + "</span>";
  }
  function both(en, fr) {
    return '<span class="gm-en">' + en + '</span><span class="gm-fr" lang="fr">' + fr + "</span>";
  }
  var lang = "en";
  function plain(key) { return WORDS[key][lang === "fr" ? 1 : 0]; }

  // escaped text (names in the data) back to text, for attributes set as properties
  function unescape(s) {
    return String(s).replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  // for search: no accents, case, punctuation; saint / sainte / ste / st -> st (as
  // gapmap.outputs.maps.fold folds the names of the index)
  function fold(s) {
    var t = " " + String(s).replace(/&[a-z]+;|&#x?[0-9a-f]+;/gi, " ").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, " ") + " ";
    return " " + t.replace(/ (saint|sainte|ste|st)(?= )/g, " st").replace(/\s+/g, " ").trim() + " ";
  }
  function div(cls, html) {
    var d = document.createElement("div");
    d.className = cls;
    if (html) { d.innerHTML = html; }
    return d;
  }
  // numbers as the page's language writes them (21,147 / 21 147)
  function fmt(n) { return Number(n).toLocaleString(lang === "fr" ? "fr-CA" : "en-CA"); }
  function minutes(t) { return t === null ? "" : (t < 1 ? "&lt;1 min" : fmt(t) + " min"); }
  // a share 0-1 as a percentage: one decimal under 10 %, none above
  function pct(v) {
    var p = v * 100;
    return (p > 0 && p < 10 ? fmt(Math.round(p * 10) / 10) : fmt(Math.round(p))) + " %";
  }
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
  // a division's fill by the share of its people within reach
  var SHARE = [[0.5, "#08519c", "< 50 %"], [0.8, "#4292c6", "50–80 %"], [0.95, "#9ecae1", "80–95 %"],
               [1.01, "#f3f7fb", "≥ 95 %"]];
  function shareColour(v) {
    if (v === null) { return "#d9d9d9"; }
    for (var i = 0; i < SHARE.length; i++) { if (v < SHARE[i][0]) { return SHARE[i][1]; } }
    return SHARE[SHARE.length - 1][1];
  }

  function gapmapInit(map, D) {
    var L = window.L;
    var needs = D.needs, S = rows(D.services), C = D.communities, T = D.towns, V = D.divisions;
    var narrow = window.innerWidth < 700;
    var api = { map: map, data: D };
    window.gapmap = api;
    function needName(n) { return both(needs[n].label, needs[n].labelFr); }
    function plainNeed(n) { return unescape(lang === "fr" ? needs[n].labelFr : needs[n].label); }
    function accessPlain(a) {
      var en = D.access.text[a];
      return unescape(lang === "fr" ? ACCESS_FR[D.access.codes[a]] || en || "" : en || "");
    }
    function accessWords(a) {
      var en = D.access.text[a];
      return en ? both(en, ACCESS_FR[D.access.codes[a]] || en) : "";
    }

    map.setMinZoom(4);
    map.setMaxZoom(14);  // the basemap is drawn at about 100 m
    // Leaflet's default marker images, should anything use them: data URIs, no fetch
    L.Icon.Default.imagePath = "";
    L.Icon.Default.mergeOptions(D.icons);
    map.attributionControl.addAttribution(both(D.attribution, D.attributionFr));
    var box = map.getContainer();
    box.setAttribute("role", "main");
    box.setAttribute("aria-label", D.title);

    function pane(name, z, passive) {
      var p = map.createPane(name);
      p.style.zIndex = z;
      if (passive) { p.style.pointerEvents = "none"; }
      return name;
    }
    pane("gm-base", 350, true);
    pane("gm-points", 450, false);
    pane("gm-roads", 460, true);
    pane("gm-labels", 595, true);
    // gaps just under the services' small markers and translucent bubbles, which stay clickable
    pane("gm-gaps", 580, false);
    map.getPane("gm-gaps").classList.add("gm-gap-pane");
    // one canvas for the summary, the bands and the community dots (hit-tested together)
    var dots = L.canvas({ pane: "gm-points", padding: 0.2, tolerance: 3 });
    var gapRenderer = L.svg({ pane: "gm-gaps", padding: 0.2 });

    // what reaches a gap community instead: its ring (the gap table's reached_by)
    var REACH_STYLE = {
      "": { color: "#3a0000", weight: 0.8, dash: null },
      none: { color: "#3a0000", weight: 1.2, dash: null },
      outreach: { color: "#1b7837", weight: 3.5, dash: null },
      line: { color: "#000", weight: 2.5, dash: "4 3" },
      hours_unknown: { color: "#6a3d9a", weight: 3, dash: "1 4" }
    };
    function reachWords(by) {
      return WORDS["reach_" + by] ? both("Reached by " + WORDS["reach_" + by][0],
                                         "Atteinte par " + WORDS["reach_" + by][1]) : "";
    }
    function reachPlain(by) {
      var p = WORDS["reach_" + by];
      return p ? (lang === "fr" ? "atteinte par " + p[1] : "reached by " + p[0]) : "";
    }
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
    var regions = L.layerGroup(D.base.regions.map(function (r) {
      return L.polygon(r.polygons, { pane: "gm-roads", color: "#1b1b1b", weight: 2.5, fill: false,
                               interactive: false });
    })).addTo(map);
    var highways = L.layerGroup([
      L.polyline(D.base.highways, { pane: "gm-roads", color: "#e08a3c", weight: 1.2, opacity: 0.8,
                               interactive: false }),
      L.polyline(D.base.expressways, { pane: "gm-roads", color: "#c0392b", weight: 2, opacity: 0.8,
                               interactive: false })
    ]).addTo(map);
    var osm = L.tileLayer(D.osm.url, { attribution: both(D.osm.attribution, D.osm.attributionFr),
                                       maxZoom: 19 });
    osm.on("add", function () { province.setStyle({ fillOpacity: 0.1 }); });
    osm.on("remove", function () { province.setStyle({ fillOpacity: 1 }); });

    // -- the regional summary: census divisions shaded by the share within reach ---------
    var current = 0;  // the need shown
    var summary = L.layerGroup();
    var divisionShapes = V.name.map(function (name, k) {
      var p = L.polygon(V.polygons[k], { renderer: dots, color: "#7a7a7a", weight: 0.8,
                                         fillOpacity: 0.75, fillColor: "#d9d9d9" });
      p.bindTooltip(function () {
        var v = V.covered[current][k];
        return "<b>" + name + "</b><br>" + needName(current) + ": " +
               (v === null ? "–" : Math.round(v * 100) + " % " + w("within") + " " +
                needs[current].thresholdMin + " min") +
               (v !== null && V.outreachOnly[current][k] > 0 ? "<br>" + pct(V.outreachOnly[current][k]) + " " +
                w("outreachOnlyShort") : "") +
               (v !== null && V.lineOnly[current][k] > 0 ? "<br>" + pct(V.lineOnly[current][k]) + " " +
                w("lineOnlyShort") : "") +
               "<br>" + w("pop") + " " + fmt(V.population[k]);
      }, { sticky: true });
      summary.addLayer(p);
      return p;
    });
    summary.addTo(map);
    summary.on("add", function () { divisionShapes.forEach(function (p) { p.bringToBack(); }); });
    // zoomed in, the shading fades so the roads and towns read
    function styleSummary() {
      var opacity = map.getZoom() >= 9 ? 0.25 : 0.75;
      divisionShapes.forEach(function (p, k) {
        p.setStyle({ fillColor: shareColour(V.covered[current][k]), fillOpacity: opacity });
      });
    }
    map.on("zoomend", styleSummary);

    // -- drive-time bands of the need shown (from the catchments, when the run has them) --
    var bandLayer = L.layerGroup();
    var hasBands = D.bands.some(function (b) { return b.length > 0; });
    var BAND_STYLE = { 30: "#1a7f37", 60: "#54a24b", 120: "#a1d99b" };
    function drawBands() {
      bandLayer.clearLayers();
      (D.bands[current] || []).forEach(function (b) {
        bandLayer.addLayer(L.polygon(b.polygons, {
          renderer: dots, interactive: false, color: BAND_STYLE[b.minutes] || "#54a24b",
          weight: 1.5, dashArray: b.minutes > needs[current].thresholdMin ? "4 4" : null,
          fill: false
        }));
      });
    }

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
      var boxes = [], named = {};
      var z = map.getZoom();
      for (var i = 0; i < townLabels.length; i++) {
        if ((z < 7 && T.population[i] < 1000) || named[T.name[i]]) { continue; }
        var p = map.project([T.lat[i], T.lon[i]], z);
        var wd = 6.2 * T.name[i].replace(/&[^;]+;/g, "x").length + 8;
        var b = [p.x + 4, p.y - 8, p.x + 4 + wd, p.y + 6];
        var free = true;
        for (var j = 0; j < boxes.length && free; j++) {
          var o = boxes[j];
          free = b[2] < o[0] || b[0] > o[2] || b[3] < o[1] || b[1] > o[3];
        }
        if (free) { boxes.push(b); named[T.name[i]] = true; labels.addLayer(townLabels[i]); }
      }
    }
    map.on("zoomend", placeLabels);
    towns.on("add remove", placeLabels);

    // -- communities: a click lists the nearest service of each need ------------------
    // markers whose title (their accessible name) follows the page's language
    var titled = [];
    function retitle(m) {
      m.options.title = m.gmTitle();
      var el = m.getElement && m.getElement();
      if (el) { el.title = m.options.title; el.setAttribute("aria-label", m.options.title); }
    }
    var communities = L.layerGroup().addTo(map);
    var remote = L.layerGroup().addTo(map);
    var plane = L.divIcon({ className: "gm-plane", html: "&#9992;", iconSize: [18, 18] });
    var planeInside = L.divIcon({ className: "gm-plane gm-inside", html: "&#9992;", iconSize: [18, 18] });
    var planes = [];
    // a fly-in community with an in-person service of the need shown inside it (access in_community)
    function servedInside(i) {
      return !!D.travel && D.access.codes[D.travel[current].access[i]] === "in_community";
    }
    function stylePlanes() {
      planes.forEach(function (p) {
        p[1].setIcon(servedInside(p[0]) ? planeInside : plane);
        retitle(p[1]);
      });
    }
    for (var ci = 0; ci < C.name.length; ci++) {
      (function (i) {
        var layer;
        if (C.remoteName[i]) {
          layer = L.marker([C.lat[i], C.lon[i]], { icon: plane, pane: "gm-gaps" })
            .bindTooltip(function () {
              return C.remoteName[i] + ": " + w("noRoad") + (servedInside(i) ? "<br>" + needName(current) + ": " +
                     '<span class="gm-ok">' + w("inCommunity") + "</span>" : "");
            });
          layer.gmTitle = function () {
            return unescape(C.remoteName[i]) + ": " + plain("noRoad").toLowerCase() +
                   (servedInside(i) ? "; " + plainNeed(current) + " " + plain("inCommunity") : "");
          };
          planes.push([i, layer]);
          titled.push(layer);
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

    // -- services: small markers, grouped in grey bubbles; a need's box shows its own ----
    var icons = {};
    function icon(colour, conf, allDay) {
      var key = colour + (conf ? "c" : "") + (allDay ? "d" : "");
      if (!icons[key]) {
        icons[key] = L.divIcon({
          className: "gm-svc" + (conf ? " gm-conf" : "") + (allDay ? " gm-allday" : ""), iconSize: [16, 16],
          html: '<span style="background:' + colour + '"></span>' + (allDay ? '<b class="gm-247m"></b>' : "")
        });
      }
      return icons[key];
    }
    var cluster = L.markerClusterGroup({
      maxClusterRadius: 30, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      disableClusteringAtZoom: 11,
      iconCreateFunction: function (c) {
        var n = c.getChildCount();
        return L.divIcon({ className: "gm-cluster", iconSize: [22, 22],
                           html: "<span>" + n + '<span class="gm-sr"> services</span></span>' });
      }
    }).addTo(map);
    var markers = S.map(function (s, i) {
      if (s.lat === null) { return null; }
      s.needs.sort(function (a, b) { return a - b; });
      var m = L.marker([s.lat, s.lon], { icon: icon(needs[s.needs[0]].colour, s.confidential, s.open247) });
      m.gmTitle = function () {
        return unescape(s.name) + (s.open247 ? ", " + plain("open247") : "") +
               (s.confidential ? " (" + plain("withheld") + ")" : "");
      };
      titled.push(m);
      m.bindPopup(s.popup, { maxWidth: Math.min(320, window.innerWidth - 60),
                             autoPanPaddingTopLeft: narrow ? [10, 180] : [50, 110] });
      m.bindTooltip(s.name + (s.open247 ? ' <b class="gm-247">24/7</b>' : "") +
                    (s.confidential ? " (" + w("withheld") + ")" : ""));
      m.gmIndex = i;
      return m;
    });
    var needLayers = needs.map(function () { return L.layerGroup(); });
    var shown = [];
    function refresh() {
      var on = needLayers.map(function (l) { return map.hasLayer(l); });
      var visible = [];
      markers.forEach(function (m, i) {
        if (!m) { return; }
        var k = S[i].needs.filter(function (n) { return on[n]; });
        if (k.length) {
          m.setIcon(icon(needs[k.indexOf(current) >= 0 ? current : k[0]].colour, S[i].confidential, S[i].open247));
          visible.push(m);
        }
      });
      cluster.clearLayers();
      cluster.addLayers(visible);
      shown = visible;
    }
    var quiet = false;
    needLayers.forEach(function (l) { l.on("add remove", function () { if (!quiet) { refresh(); } }); });

    // -- gap communities per need (drawn when first shown) ------------------------------
    var gapLayers = needs.map(function (need, n) {
      var layer = L.layerGroup();
      var drawn = false;
      layer.on("add", function () {
        if (drawn) { return; }
        drawn = true;
        rows(D.gaps[n]).forEach(function (g) {
          var i = g.community, t = g.minutes, words = accessWords(g.access);
          var text = t === null ? words : minutes(t) + (words ? ", " + words : "");
          var by = D.reachedByCodes[g.reachedBy], ring = REACH_STYLE[by] || REACH_STYLE[""];
          var c = L.circleMarker([C.lat[i], C.lon[i]], {
            renderer: gapRenderer, radius: radius(C.population[i]), color: ring.color, weight: ring.weight,
            dashArray: ring.dash, fillColor: gapColour(t), fillOpacity: 0.7
          }).bindTooltip("<b>" + C.name[i] + "</b><br>" + w("pop") + " " + fmt(C.population[i]) +
                         "<br>" + needName(n) + ": " + text +
                         (by ? '<br><span class="gm-reachline">' + reachWords(by) + "</span>" : ""));
          c.on("click", function () { showCommunity(i, n); });
          layer.addLayer(c);
        });
      });
      layer.on("add remove", function () { if (!quiet) { placeKeys(); } });
      return layer;
    });

    // -- wraparound: how many needs each community reaches, each within its threshold ------
    var W = D.wrap, wrapLayer = L.layerGroup();
    function wrapBins(n) {  // [lowest count, label, colour], most needs first
      var half = Math.ceil(n / 2);
      return [[n, String(n), "#f2f0f7"], [n - 2, (n - 2) + "–" + (n - 1), "#9e9ac8"],
              [half, half + "–" + (n - 3), "#6a51a3"], [0, "0–" + (half - 1), "#3f007d"]];
    }
    function wrapColour(k) {
      var bins = wrapBins(W.counted);
      for (var b = 0; b < bins.length; b++) { if (k >= bins[b][0]) { return bins[b][2]; } }
      return bins[bins.length - 1][2];
    }
    function wrapShown() { return !!W && map.hasLayer(wrapLayer); }
    function wrapWords(i) {
      return W.reached[i] + " " + (lang === "fr" ? "besoins sur " : "of ") + W.counted +
             (lang === "fr" ? " à portée" : " needs within reach");
    }
    // the count; with the needs missed too (a tooltip: the panel's table shows them)
    function wrapHtml(i, missed) {
      return W.reached[i] + " " + both("of", "besoins sur") + " " + W.counted + " " +
             both("needs within their thresholds", "à l'intérieur de leur seuil") +
             (missed && W.missing[i].length ? "<br><small>" + both("Missing", "Manquent") + ": " +
              W.missing[i].map(needName).join(", ") + "</small>" : "");
    }
    var wrapDrawn = false;
    wrapLayer.on("add", function () {
      if (!W) { return; }  // not offered: the run has no wraparound table
      if (!wrapDrawn) {
        wrapDrawn = true;
        byPopulation.slice().reverse().forEach(function (i) {
          if (W.reached[i] < 0) { return; }
          var c = L.circleMarker([C.lat[i], C.lon[i]], {
            renderer: dots, radius: Math.min(9, 2.5 + Math.sqrt(Math.max(C.population[i], 0)) / 40),
            color: "#222", weight: 0.6, fillColor: wrapColour(W.reached[i]), fillOpacity: 0.9
          }).bindTooltip("<b>" + C.name[i] + "</b><br>" + wrapHtml(i, true));
          c.on("click", function () { showCommunity(i, -1); });
          wrapLayer.addLayer(c);
        });
      }
      placeKeys();
      legendParts();
    });
    wrapLayer.on("remove", function () { placeKeys(); legendParts(); });

    // -- capacity-aware access: services per 100,000 people (E2SFCA) of the need shown ------
    var A = D.access2sfca, accessLayer = L.layerGroup(), accessFor = -1;
    function accessShown() { return !!A && map.hasLayer(accessLayer); }
    function accessColour(v) {
      if (v <= 0) { return A.bands[0][1]; }
      for (var b = 1; b < A.bands.length; b++) {
        if (A.bands[b][0] === null || v < A.bands[b][0]) { return A.bands[b][1]; }
      }
      return A.bands[A.bands.length - 1][1];
    }
    function accessBandLabels() {  // [label HTML, colour], 0 first
      var th = needs[current].thresholdMin;
      return A.bands.map(function (b, k) {
        if (k === 0) { return ["0 (" + w("accessNone") + " " + th + " min)", b[1]]; }
        var lo = A.bands[k - 1][0];
        if (b[0] === null) { return [fmt(lo) + " " + w("orMore"), b[1]]; }
        return [k === 1 ? w("under") + " " + fmt(b[0]) : fmt(lo) + "–" + fmt(b[0]), b[1]];
      });
    }
    // community i's figure for need n, as HTML (both languages) or plain text; "" if none
    function accessHtml(n, i) {
      var v = A ? A.e2sfca[n][i] : null;
      if (v === null) { return ""; }
      return "<b>" + fmt(v) + "</b> " + w("perPeople") + " (E2SFCA) &middot; " + fmt(A.within[n][i]) + " " +
             w(A.within[n][i] === 1 ? "serviceWithin" : "servicesWithin") + " " + needs[n].thresholdMin + " min";
    }
    function accessPlainOf(n, i) {
      var v = A ? A.e2sfca[n][i] : null;
      return v === null ? "" : fmt(v) + " " + plain("perPeople") + ", " + fmt(A.within[n][i]) + " " +
             plain(A.within[n][i] === 1 ? "serviceWithin" : "servicesWithin") + " " + needs[n].thresholdMin + " min";
    }
    function drawAccess() {
      if (!accessShown() || accessFor === current) { return; }
      accessFor = current;
      accessLayer.clearLayers();
      byPopulation.slice().reverse().forEach(function (i) {
        var v = A.e2sfca[current][i];
        if (v === null) { return; }
        var c = L.circleMarker([C.lat[i], C.lon[i]], {
          renderer: dots, radius: Math.min(9, 2.5 + Math.sqrt(Math.max(C.population[i], 0)) / 40),
          color: "#222", weight: 0.6, fillColor: accessColour(v), fillOpacity: 0.9
        }).bindTooltip(function () {
          return "<b>" + C.name[i] + "</b><br>" + needName(current) + ": " + accessHtml(current, i);
        });
        c.on("click", function () { showCommunity(i, -1); });
        accessLayer.addLayer(c);
      });
    }
    accessLayer.on("add", function () {
      if (!A) { return; }  // not offered: the plan stage has not run
      drawAccess();
      placeKeys();
      legendParts();
      // its key is last in a long legend: scrolled into the legend's view
      var ak = legend && legend.querySelector(".gm-accesskey");
      if (ak) { legend.scrollTop = Math.max(0, ak.offsetTop - 40); }
    });
    accessLayer.on("remove", function () { placeKeys(); legendParts(); });

    // -- suggested sites of the need shown (the plan stage), with their caveats ----------
    var G = rows(D.suggestions), siteLayer = L.layerGroup(), siteMarkers = [];
    pane("gm-sites", 615, false);
    function siteTitle(g) {
      return (lang === "fr" ? "Site suggéré " + g.rank + " : " : "Suggested site " + g.rank + ": ") +
             unescape(g.site) + ", +" + fmt(g.popAdded) + (lang === "fr" ? " personnes à portée" : " people within reach");
    }
    function sitePopup(g) {
      var need = needs[g.need];
      return '<b class="gm-name">' + both("Suggested site", "Site suggéré") + " " + g.rank + ": " + g.site +
             "</b><br><i>" + needName(g.need) + " &middot; " + g.region + "</i><br>" +
             "+" + fmt(g.popAdded) + " " + both("people newly within", "personnes de plus à moins de") + " " +
             need.thresholdMin + " min<br>" + both("Region covered", "Région couverte") + ": " +
             g.pctBefore + " % &rarr; " + g.pctAfter + " %" + (g.cdName ? "<br>" + both("Census division", "Division de recensement") +
             ": " + g.cdName : "") + "<br><small>" + both("Method", "Méthode") + ": " + g.method + "</small>" +
             (g.caveat ? '<div class="gm-caveat"><b>' + both("Caveat", "Mise en garde") + "</b>: " +
                         both(g.caveat, g.caveatFr) + "</div>" : "") +
             "<small>" + both("A place to look at, not a decision: see suggestions.csv.",
                              "Un lieu à examiner, pas une décision : voir suggestions.csv.") + "</small>";
    }
    function drawSites() {
      siteLayer.clearLayers();
      siteMarkers = [];
      G.forEach(function (g) {
        if (g.need !== current) { return; }
        var m = L.marker([g.lat, g.lon], {
          pane: "gm-sites", icon: L.divIcon({ className: "gm-site", iconSize: [20, 20],
                                             html: "<span>" + g.rank + "</span>" })
        }).bindPopup(sitePopup(g), { maxWidth: Math.min(320, window.innerWidth - 60),
                                     autoPanPaddingTopLeft: narrow ? [10, 180] : [50, 110] });
        m.gmTitle = function () { return siteTitle(g); };
        retitle(m);
        siteMarkers.push(m);
        siteLayer.addLayer(m);
      });
    }
    siteLayer.on("add remove", function () { legendParts(); });

    // -- keyboard: the community dots in view as buttons (the dots are drawn on a canvas) ----
    // After the controls in the Tab order: the gap communities of the need shown first, most
    // people first, then the other communities in view, up to KEY_MAX; Enter opens the panel.
    pane("gm-keys", 620, false);
    // first among the panes in the page: Tab reaches these before the service markers
    var mapPane = map.getPane("mapPane");
    mapPane.insertBefore(map.getPane("gm-keys"), mapPane.firstChild);
    var KEY_MAX = 60;
    var keyLayer = L.layerGroup().addTo(map);
    var byPopulation = C.name.map(function (n, i) { return i; })
      .filter(function (i) { return !C.remoteName[i]; })
      .sort(function (a, b) { return C.population[b] - C.population[a]; });
    var keyIcon = L.divIcon({ className: "gm-key-dot", iconSize: [16, 16] });
    var fromKeyboard = false;
    function keyTargets() {
      var view = map.getBounds(), out = [], seen = {};
      function add(i, label, n) {
        if (out.length >= KEY_MAX || seen[i] || !view.contains([C.lat[i], C.lon[i]])) { return; }
        seen[i] = true;
        out.push({ i: i, label: label, need: n });
      }
      if (map.hasLayer(gapLayers[current])) {
        rows(D.gaps[current]).sort(function (a, b) {
          return C.population[b.community] - C.population[a.community];
        }).forEach(function (g) {
          var how = g.minutes === null ? (accessPlain(g.access) || plain("noDrive"))
                                       : fmt(g.minutes) + " min";
          var by = reachPlain(D.reachedByCodes[g.reachedBy]);
          add(g.community, unescape(C.name[g.community]) + ", " + plain("pop") + " " +
              fmt(C.population[g.community]) + ": " + plainNeed(current) + " " + how + " (" +
              plain("gapShort") + (by ? "; " + by : "") + ")", current);
        });
      }
      if (map.hasLayer(communities) || wrapShown() || accessShown()) {
        byPopulation.forEach(function (i) {
          var more = [];
          if (wrapShown()) { more.push(wrapWords(i)); }
          if (accessShown() && accessPlainOf(current, i)) {
            more.push(plainNeed(current) + ": " + accessPlainOf(current, i));
          }
          add(i, unescape(C.name[i]) + (C.enumerated[i] ? ", " + plain("pop") + " " + fmt(C.population[i]) : "") +
              ": " + plain("nearestEach") + (more.length ? " (" + more.join("; ") + ")" : ""), -1);
        });
      }
      return out;
    }
    function placeKeys() {
      var had = document.activeElement && document.activeElement.classList.contains("gm-key-dot");
      keyLayer.clearLayers();
      keyTargets().forEach(function (t) {
        var k = L.marker([C.lat[t.i], C.lon[t.i]], {
          icon: keyIcon, pane: "gm-keys", title: t.label, autoPanOnFocus: false,
          interactive: false  // a pointer reaches the dot drawn under it; the keyboard, this
        });
        k.on("add", function () {
          var el = k.getElement();
          el.setAttribute("aria-label", t.label);
          el.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              fromKeyboard = true;
              showCommunity(t.i, t.need);
              fromKeyboard = false;
            }
          });
        });
        keyLayer.addLayer(k);
      });
      if (had) { map.getContainer().focus({ preventScroll: true }); }
    }
    map.on("moveend", placeKeys);
    communities.on("add remove", placeKeys);

    // -- the need shown: summary, gaps, bands and services follow it ----------------------
    function setNeed(n) {
      var prev = current;
      current = n;
      styleSummary();
      if (map.hasLayer(gapLayers[prev]) || prev === n) {
        gapLayers.forEach(function (l, j) { if (j !== n) { map.removeLayer(l); } });
        map.addLayer(gapLayers[n]);
      }
      quiet = true;
      needLayers.forEach(function (l, j) { if (j !== n) { map.removeLayer(l); } });
      map.addLayer(needLayers[n]);
      quiet = false;
      refresh();
      drawBands();
      drawSites();
      drawAccess();
      legendParts();
      stylePlanes();
      placeKeys();
      if (select) { select.value = String(n); }
      updateTexts();
    }

    // -- layer control, grouped, with all/none for the need boxes ----------------------
    function servicesWith(n) {
      return markers.filter(function (m, i) { return m && S[i].needs.indexOf(n) >= 0; }).length;
    }
    // a heading before the first layer of each group; its button folds the group
    var Grouped = L.Control.Layers.extend({
      _addItem: function (obj) {
        var label = L.Control.Layers.prototype._addItem.call(this, obj);
        var group = obj.layer.gmGroup;
        if (group && group.layers[0] === obj.layer) {
          var h = div("gm-lc-head" + (group.folded ? " gm-folded" : ""),
                      '<button type="button" class="gm-fold" aria-expanded="' + !group.folded +
                      '">' + group.title + "</button>" +
                      (group.allNone ? ' <a href="#" data-all="1">' + w("all") + "</a> &middot; " +
                                       '<a href="#" data-all="0">' + w("none") + "</a>" : ""));
          label.parentNode.insertBefore(h, label);
          var control = this;
          L.DomEvent.on(h.querySelector(".gm-fold"), "click", function (e) {
            L.DomEvent.stop(e);  // a tap on a heading keeps the control open
            group.folded = !group.folded;
            control._update();
            var again = control._container.querySelectorAll(".gm-fold");
            for (var k = 0; k < again.length; k++) {
              if (again[k].innerHTML === group.title) { again[k].focus(); }
            }
          });
          Array.prototype.forEach.call(h.querySelectorAll("a[data-all]"), function (a) {
            L.DomEvent.on(a, "click", function (e) {
              L.DomEvent.stop(e);
              var all = a.getAttribute("data-all") === "1";
              quiet = true;
              group.layers.forEach(function (l) {
                if (all) { map.addLayer(l); } else { map.removeLayer(l); }
              });
              quiet = false;
              refresh();
            });
          });
        }
        if (group) { label.setAttribute("data-group", group.key); }
        if (group && group.folded) { label.style.display = "none"; }
        return label;
      }
    });
    var control = new Grouped(null, null, { collapsed: narrow, sortLayers: false });
    function group(key, title, layers, folded, allNone) {
      var g = { key: key, title: title, layers: layers, folded: folded, allNone: allNone };
      layers.forEach(function (l) { l.gmGroup = g; });
      return g;
    }
    var overview = [[summary, swatch(SHARE[0][1], "gm-box") + w("summary")]];
    if (hasBands) { overview.push([bandLayer, swatch("#54a24b", "gm-line") + w("bands")]); }
    group("overview", w("needShown"), overview.map(function (o) { return o[0]; }), false, false);
    overview.forEach(function (o) { control.addOverlay(o[0], o[1]); });
    var analysis = [];
    if (W) { analysis.push([wrapLayer, swatch("#6a51a3", "gm-round") + w("wrapLayer")]); }
    if (A) { analysis.push([accessLayer, swatch("#238443", "gm-round") + w("accessLayer")]); }
    if (G.length) { analysis.push([siteLayer, '<span class="gm-site gm-site-key"><span>1</span></span>' + w("sitesLayer")]); }
    if (analysis.length) {
      group("analysis", w("analysis"), analysis.map(function (o) { return o[0]; }), false, false);
      analysis.forEach(function (o) { control.addOverlay(o[0], o[1]); });
    }
    group("gaps", w("gapLayer"), gapLayers, true, false);
    needs.forEach(function (need, n) {
      control.addOverlay(gapLayers[n], swatch(gapColour(200), "gm-round") + needName(n) +
                         " &gt; " + need.thresholdMin + " min" +
                         ' <small>(' + D.gaps[n].community.length + ')</small>');
    });
    group("services", w("servicesByNeed"), needLayers, true, true);
    needs.forEach(function (need, n) {
      control.addOverlay(needLayers[n], swatch(need.colour) + needName(n) +
                         ' <small>(' + servicesWith(n) + ')</small>');
    });
    var baseLayers = [
      [communities, swatch("#4a5a6a", "gm-round gm-tiny") + w("communitiesLayer")],
      [remote, "&#9992; " + w("noRoad")],
      [towns, swatch("#fff", "gm-round gm-town") + w("towns")],
      [highways, swatch("#c0392b", "gm-line") + w("highways")],
      [regions, swatch("#1b1b1b", "gm-line") + w("regionOutline")],
      [province, swatch("#fbfaf5", "gm-box") + w("province")],
      [osm, w("osm")]
    ];
    group("basemap", w("basemap"), baseLayers.map(function (b) { return b[0]; }), true, false);
    baseLayers.forEach(function (b) { control.addOverlay(b[0], b[1]); });

    // -- search by place (names, French and other names), postal code or service ---------
    // the entries come from gapmap (maps.search_table), their names folded as fold() folds a
    // query; a query matches a name at a word start, inside a word, without its spaces, and
    // then with a few typos ("Thunder Bey"): one to a short word, two to a long one
    var KINDS = ["town", "community", "fsa", "detachment", "service"];
    var index = D.search.kind.map(function (kind, k) {
      var i = D.search.row[k], html;
      if (kind === "town") { html = T.name[i] + " <small>" + w("kindTown") + "</small>"; }
      else if (kind === "community") {
        html = (C.remoteName[i] || C.name[i]) + " <small>" + w("kindCommunity") + "</small>";
      } else if (kind === "fsa") { html = D.fsas.code[i] + " <small>" + w("kindFsa") + "</small>"; }
      else if (kind === "detachment") {
        var name = D.detachments.name[i], town = D.detachments.town[i];
        html = both("OPP " + name + " detachment", "Détachement de la PPO " + name) +
               " <small>" + T.name[town] + "</small>";
        i = town;
      } else {
        var s = S[i];
        html = s.name + " <small>" + (s.city || "") + (s.lat === null ? ", " + w("noPoint") : "") + "</small>";
      }
      var keys = D.search.keys[k].split("|").map(function (x) { return " " + x + " "; });
      return { kind: kind, i: i, keys: keys, html: html, words: null };
    });
    // edit distance with adjacent swaps, or max + 1 once it is over max
    function distance(a, b, max) {
      if (Math.abs(a.length - b.length) > max) { return max + 1; }
      var prev2 = null, prev = [], cur, i, j;
      for (j = 0; j <= b.length; j++) { prev.push(j); }
      for (i = 1; i <= a.length; i++) {
        cur = [i];
        var low = i;
        for (j = 1; j <= b.length; j++) {
          var d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
          if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
            d = Math.min(d, prev2[j - 2] + 1);
          }
          cur.push(d);
          if (d < low) { low = d; }
        }
        if (low > max) { return max + 1; }
        prev2 = prev;
        prev = cur;
      }
      return prev[b.length];
    }
    // the typos a query may have: none under 5 letters, one under 9, else two; a word of
    // one or two letters must match as typed
    function typos(q) {
      var n = q.replace(/ /g, "").length;
      return n < 5 ? 0 : n < 9 ? 1 : 2;
    }
    function fuzzy(words, key, budget) {
      var keyWords = key.trim().split(" "), total = 0;
      for (var k = 0; k < words.length; k++) {
        var qw = words[k], last = k === words.length - 1;
        var max = Math.min(budget - total, qw.length <= 2 ? 0 : qw.length <= 4 ? 1 : 2), best = max + 1;
        for (var j = 0; j < keyWords.length && best > 0; j++) {
          var kw = keyWords[j];
          best = Math.min(best, distance(qw, kw, max));
          if (last && kw.length > qw.length) {  // still typing: the start of a word
            best = Math.min(best, distance(qw, kw.slice(0, qw.length), max));
          }
        }
        if (best > max) { return -1; }
        total += best;
      }
      return total;
    }
    function findAll(query) {
      var q = fold(esc(query)).trim();
      if (q.length < 2) { return []; }
      var postal = /^([a-z][0-9][a-z])( ?[0-9][a-z][0-9])?$/.exec(q.replace(/ /g, "").length <= 6 ?
        q.replace(/ /g, "").replace(/^(...)(...)$/, "$1 $2") : "");
      var compact = q.replace(/ /g, ""), words = q.split(" "), budget = typos(q);
      var hits = [];
      index.forEach(function (h) {
        var best = -1;
        h.keys.forEach(function (key, k) {
          var at = key.indexOf(" " + q);
          var r = at < 0 ? (key.indexOf(q) < 0 ? -1 : 2) : (at === 0 ? 0 : 1);
          if (r < 0 && compact.length >= 4 && key.replace(/ /g, "").indexOf(compact) >= 0) { r = 2.5; }
          if (r < 0 && budget > 0 && h.kind !== "fsa") {
            var d = fuzzy(words, key, budget);
            if (d > 0) { r = 3 + d; }
          }
          if (r >= 0 && k > 0) { r += 0.5; }  // the name before other names
          if (r >= 0 && (best < 0 || r < best)) { best = r; }
        });
        if (postal && h.kind === "fsa" && h.keys[0].trim() === postal[1]) { best = 0; }
        if (best >= 0) { hits.push({ h: h, r: best * 10 + KINDS.indexOf(h.kind) }); }
      });
      return hits.sort(function (a, b) { return a.r - b.r; }).slice(0, 12)
        .map(function (x) { return x.h; });
    }
    var Search = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var sbox = div("gm-search leaflet-bar");
        sbox.setAttribute("role", "search");
        sbox.innerHTML = '<input type="search" autocomplete="off" role="combobox" ' +
                         'aria-expanded="false" aria-controls="gm-search-list" aria-autocomplete="list">' +
                         '<ul id="gm-search-list" role="listbox" aria-label="results"></ul>';
        L.DomEvent.disableClickPropagation(sbox);
        L.DomEvent.disableScrollPropagation(sbox);
        var input = sbox.querySelector("input"), list = sbox.querySelector("ul");
        var hits = [];
        function pick(h) {
          list.innerHTML = "";
          input.setAttribute("aria-expanded", "false");
          input.blur();
          if (h.kind === "service") { focusService(h.i); }
          else if (h.kind === "town" || h.kind === "detachment") {
            map.setView([T.lat[h.i], T.lon[h.i]], Math.max(map.getZoom(), 10));
            if (T.community[h.i] >= 0) { showCommunity(T.community[h.i], -1, T.name[h.i]); }
          } else if (h.kind === "fsa") {
            map.setView([D.fsas.lat[h.i], D.fsas.lon[h.i]], Math.max(map.getZoom(), 10));
            if (D.fsas.community[h.i] >= 0) {
              showCommunity(D.fsas.community[h.i], -1, D.fsas.code[h.i], "kindFsa");
            }
          } else {
            map.setView([C.lat[h.i], C.lon[h.i]], Math.max(map.getZoom(), 10));
            showCommunity(h.i, -1);
          }
        }
        input.addEventListener("input", function () {
          list.innerHTML = "";
          hits = findAll(input.value.trim());
          hits.forEach(function (h, k) {
            var li = document.createElement("li");
            li.innerHTML = h.html;
            li.setAttribute("role", "option");
            li.id = "gm-hit-" + k;
            li.addEventListener("click", function () { pick(h); });
            list.appendChild(li);
          });
          if (input.value.trim().length >= 2 && !hits.length) {
            list.innerHTML = '<li class=gm-none role="option" aria-disabled="true">' + w("noMatch") + "</li>";
          }
          input.setAttribute("aria-expanded", String(list.children.length > 0));
        });
        input.addEventListener("keydown", function (e) {
          if (e.key === "Enter" && hits.length) { pick(hits[0]); }
          if (e.key === "Escape") { input.value = ""; list.innerHTML = ""; }
        });
        api.searchInput = input;
        return sbox;
      }
    });

    // -- the need selector and the language button -------------------------------------
    var select = null;
    var NeedPicker = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var pbox = div("gm-picker leaflet-bar");
        pbox.innerHTML = '<label for="gm-need">' + w("needShown") + '</label> <select id="gm-need">' +
          needs.map(function (need, n) {
            return '<option value="' + n + '" data-en="' + need.label + '" data-fr="' + need.labelFr + '">' +
                   need.label + "</option>";
          }).join("") + "</select>" +
          ' <button type="button" class="gm-lang"></button>';
        L.DomEvent.disableClickPropagation(pbox);
        select = pbox.querySelector("select");
        select.addEventListener("change", function () { setNeed(Number(select.value)); });
        pbox.querySelector(".gm-lang").addEventListener("click", function () {
          setLanguage(lang === "fr" ? "en" : "fr");
        });
        return pbox;
      }
    });

    // -- the panel: a community's nearest services, or a service without a point -------
    var Panel = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var p = div("gm-panel");
        p.style.display = "none";
        p.setAttribute("role", "region");
        p.setAttribute("aria-live", "polite");
        p.setAttribute("aria-label", "details");
        L.DomEvent.disableClickPropagation(p);
        L.DomEvent.disableScrollPropagation(p);
        return p;
      }
    });
    // search first, then the need picker, the panel and the zoom buttons (tab order too)
    new Search().addTo(map);
    new NeedPicker().addTo(map);
    var panel = new Panel().addTo(map).getContainer();
    var corner = panel.parentNode;
    corner.appendChild(map.zoomControl.getContainer());
    control.addTo(map);
    // the controls come before the map in the page, so Tab reaches the search first: they
    // move to a layer of their own over the map, with the map container's classes
    var overlay = document.createElement("div");
    overlay.className = box.className.replace(/\b(leaflet-grab|leaflet-drag-target|folium-map)\b/g, "") +
                        " gm-controls";
    overlay.setAttribute("role", "region");
    overlay.setAttribute("aria-label", "controls");
    overlay.appendChild(map._controlContainer);
    box.parentNode.insertBefore(overlay, box);

    function closePanel() {
      panel.style.display = "none";
      overlay.classList.remove("gm-panel-open");
    }
    function openPanel(html) {
      panel.innerHTML = '<button type="button" class="gm-close">&times;</button>' + html;
      panel.querySelector(".gm-close").setAttribute("aria-label", plain("close"));
      panel.style.display = "block";
      overlay.classList.add("gm-panel-open");
      map.closePopup();
      fitPanel();
      panel.querySelector(".gm-close").addEventListener("click", closePanel);
      var opener = fromKeyboard ? document.activeElement : null;
      if (opener) { panel.querySelector(".gm-close").focus({ preventScroll: true }); }
      panel.onkeydown = function (e) {
        if (e.key !== "Escape") { return; }
        closePanel();
        if (opener && document.body.contains(opener)) { opener.focus({ preventScroll: true }); }
      };
      Array.prototype.forEach.call(panel.querySelectorAll("a[data-s]"), function (a) {
        a.addEventListener("click", function (e) {
          e.preventDefault();
          focusService(Number(a.getAttribute("data-s")));
        });
      });
    }
    // the panel takes the left column down to the scale bar (a sheet at the bottom on a phone)
    function fitPanel() {
      if (panel.style.display === "none" || window.innerWidth < 700) {
        panel.style.maxHeight = "";
        return;
      }
      var bottom = map.getContainer().getBoundingClientRect().bottom - 60;
      panel.style.maxHeight = Math.max(bottom - panel.getBoundingClientRect().top, 160) + "px";
    }
    window.addEventListener("resize", fitPanel);
    // on a phone a popup takes the place of the panel and of the search list; on a wide
    // screen the map moves so that a popup is not under the panel
    map.on("popupopen", function (e) {
      var x = e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (x) { x.setAttribute("aria-label", plain("closePopup")); x.title = plain("closePopup"); }
      var list = document.getElementById("gm-search-list");
      if (list) { list.innerHTML = ""; }
      if (window.innerWidth < 700) { closePanel(); return; }
      if (panel.style.display === "none") { return; }
      var p = e.popup.getElement().getBoundingClientRect(), q = panel.getBoundingClientRect();
      if (p.left < q.right + 10 && p.bottom > q.top) {
        map.panBy([p.left - q.right - 20, 0], { animate: false });
      }
    });
    function serviceLink(i) {
      if (i === -2) { return "<i>" + w("confidentialService") + "</i>"; }
      if (i < 0) { return "<i>" + w("nonePlaced") + "</i>"; }
      var s = S[i];
      return '<a href="#" data-s="' + i + '">' + s.name + "</a>" + (s.city ? " <small>" + s.city + "</small>" : "") +
             (s.phone ? ' <span class="gm-phone">' + s.phone + "</span>" : "") +
             (s.confidential ? ' <small class="gm-withheld">' + w("withheld") + "</small>" : "") +
             (s.listedWithoutPoint ? " <small>(" + w("noPoint") + ")</small>"
                                   : s.lat === null ? " <small>(" + w("notOnMap") + ")</small>" : "");
    }
    // a service's hours, 24/7 mark and whom it is limited to (a second line)
    function serviceFacts(i) {
      var s = S[i], facts = [];
      if (s.open247) { facts.push('<b class="gm-247">24/7</b>'); }
      else if (s.hours) { facts.push(w("hours") + ": " + s.hours); }
      if (s.limit) { facts.push('<span class="gm-limit">' + w("onlyFor") + " " + s.limit + "</span>"); }
      return facts.length ? '<br><small class="gm-facts">' + facts.join(" &middot; ") + "</small>" : "";
    }
    // the outreach services and lines of need n whose area holds community i (gapmap's reach sets)
    function reachingOf(n, i) {
      var set = D.reach.community[i];
      var all = set < 0 ? [] : D.reach.sets[set].filter(function (k) { return S[k].needs.indexOf(n) >= 0; });
      return { outreach: all.filter(function (k) { return S[k].outreach; }),
               line: all.filter(function (k) { return S[k].line && !S[k].outreach; }) };
    }
    function altList(key, list) {
      return list.length ? '<div class="gm-alt"><b>' + w(key) + "</b><ul>" + list.map(function (k) {
        return "<li>" + serviceLink(k) + serviceFacts(k) + "</li>";
      }).join("") + "</ul></div>" : "";
    }
    // outreach and lines: in full for the need in focus, folded for the others
    function altHtml(n, i, open) {
      var r = reachingOf(n, i);
      if (!r.outreach.length && !r.line.length) { return ""; }
      var body = altList("outreachHere", r.outreach) + altList("linesHere", r.line);
      var counts = [];
      if (r.outreach.length) { counts.push(w("otherWays") + ": " + fmt(r.outreach.length)); }
      if (r.line.length) { counts.push(w("linesShort") + ": " + fmt(r.line.length)); }
      return "<details class=gm-alts" + (open ? " open" : "") + "><summary>" + w("alsoHere") + " " +
             counts.join(" &middot; ") + "</summary>" + body + "</details>";
    }
    function needRow(n, i, focus, first) {
      var need = needs[n], tr = D.travel[n], t = tr.minutes[i], a = tr.access[i], service = tr.service[i];
      var code = D.access.codes[a];
      var within = t !== null && (code === "road" || code === "estimate" || code === "in_community") &&
                   t <= need.thresholdMin;
      var when = code === "in_community" ? '<span class="gm-wrap">' + w("inCommunity") + "</span>"
        : t === null ? accessWords(a) : minutes(t) + (code === "estimate" ? " (" + w("est") + ")" : "");
      var answer = service === -1 && t === null ? "" : serviceLink(service) + (service >= 0 ? serviceFacts(service) : "");
      var cls = within ? "gm-ok" : "gm-far";
      if (t !== null && t > D.farMin) {  // absurdly far: flagged, not the answer
        answer = '<span class="gm-flag">' + w("noneWithin") + " " + fmt(D.farMin) + " min</span> " +
                 "<small>(" + w("nearestIs") + " " + (service >= 0 ? S[service].name : "") + ", " +
                 w("tooFar") + ")</small>";
      } else if (service >= 0 && S[service].staleYear) {
        answer += ' <small class="gm-flag">' + w("dated") + " " + S[service].staleYear + ": " +
                  w("mayHaveEnded") + "</small>";
      }
      // capacity-aware access: in the need in focus's row, in every row while its layer is shown
      var fca = (n === first || accessShown()) ? accessHtml(n, i) : "";
      if (fca) { answer += '<div class="gm-fca"><small>' + fca + "</small></div>"; }
      return "<tr" + (n === focus ? ' class="gm-focus"' : "") + "><td>" + swatch(need.colour) +
             needName(n) + "</td><td>" + answer + altHtml(n, i, n === first) + '</td><td class="gm-t ' + cls + '">' +
             when + "</td></tr>";
    }
    function showCommunity(i, focus, via, viaKind) {
      var remoteName = C.remoteName[i], name = C.name[i];
      var title = via && !viaKind ? via : (remoteName || name);
      var head = "<h3>" + title + "</h3><div class=gm-sub>" +
                 (via && via !== name ? w(viaKind || "townOf") + " " + via + ": " + w("nearestPoint") + " " + name + "<br>"
                      : (remoteName && remoteName !== name ? name + "<br>" : "")) +
                 w("cd") + ": " + C.cdName[i] + " &middot; " +
                 (C.enumerated[i] ? w("pop") + " " + fmt(C.population[i]) : w("notEnumerated")) + "</div>";
      if (W && W.reached[i] >= 0) { head += '<div class="gm-wrapline">' + wrapHtml(i) + "</div>"; }
      if (remoteName) {
        head += "<p class=gm-note>" + w("noRoadNote") +
                (C.airHub[i] ? " " + w("airHub") + " " + C.airHub[i] + "." : "") + "</p>";
      }
      if (!D.travel) {
        openPanel(head + "<p>" + w("noTravel") + "</p>");
        return;
      }
      var order = needs.map(function (need, n) { return n; });
      var first = focus >= 0 ? focus : current;
      order.splice(first, 1);
      order.unshift(first);
      // services of the need first shown that have no point and that do not say how they
      // reach people (area-wide listings): the outreach and lines are in the need's row
      var others = unplaced.filter(function (k) {
        return S[k].needs.indexOf(first) >= 0 && S[k].phone && !S[k].outreach && !S[k].line;
      });
      var alsoHtml = others.length ? '<div class="gm-also"><b>' + needName(first) + ": " + w("alsoListed") +
        "</b><ul>" + others.map(function (k) { return "<li>" + serviceLink(k) + "</li>"; }).join("") +
        "</ul></div>" : "";
      openPanel(head + "<table><thead><tr><th>" + w("need") + "</th><th>" + w("nearest") + "</th><th>" +
                w("drive") + "</th></tr></thead><tbody>" +
                order.map(function (n) { return needRow(n, i, focus, first); }).join("") +
                "</tbody></table>" + alsoHtml + "<small>" + w("panelNote") + "</small>");
    }
    function focusService(i) {
      var m = markers[i];
      if (!m) {
        openPanel("<h3>" + w("service") + "</h3><div class=gm-card>" + S[i].popup + "</div><small>" +
                  (S[i].listedWithoutPoint ? w("listedNoPoint") : w("notOnMap")) + "</small>");
        return;
      }
      if (shown.indexOf(m) < 0) { map.addLayer(needLayers[S[i].needs[0]]); }
      cluster.zoomToShowLayer(m, function () { m.openPopup(); });
    }

    // -- legend, footer, print ------------------------------------------------------
    var unplaced = S.map(function (s, i) { return i; }).filter(function (i) { return S[i].listedWithoutPoint; });
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var f = D.footer;
        var lbox = div("gm-legend");
        lbox.innerHTML =
          "<details" + (narrow ? "" : " open") + '><summary><b class="gm-legend-title"></b></summary>' +
          '<div class="gm-share">' + w("summary") + ":<br>" + SHARE.map(function (s) {
            return '<span class="gm-key">' + swatch(s[1], "gm-box") + s[2] + "</span>";
          }).join(" ") + '<div class="gm-regionreach"></div></div>' +
          '<div class="gm-gapkey"></div>' +
          "<div>" + swatch(needs[0].colour, "gm-round gm-ring") + w("serviceLegend") + " " +
          swatch("#fff", "gm-round gm-dash") + w("confidentialLegend") + " " +
          '<span class="gm-svc gm-allday gm-svc-key"><span style="background:#999"></span><b class="gm-247m"></b></span>' +
          w("open247Legend") + "</div>" +
          (hasBands ? '<div class="gm-bandkey"></div>' : "") +
          '<div class="gm-wrapkey" hidden></div><div class="gm-accesskey" hidden></div>' +
          '<div class="gm-sitekey" hidden></div>' +
          "<div>&#9992; " + w("noRoadLegend") + "</div>" +
          (planes.some(function (p) { return D.travel && D.travel.some(function (t) {
            return D.access.codes[t.access[p[0]]] === "in_community"; }); })
            ? '<div><span class="gm-plane gm-inside gm-plane-key">&#9992;</span> ' + w("inCommunityLegend") + "</div>" : "") +
          "<div>" + swatch("#4a5a6a", "gm-round gm-tiny") + w("communityLegend") + "</div>" +
          (unplaced.length ? "<details class=gm-unplaced><summary>" + unplaced.length + " " + w("unplaced") +
            "</summary><ul>" + unplaced.map(function (i) {
              return "<li>" + serviceLink(i) + "</li>";
            }).join("") + "</ul></details>" : "") +
          "</details>" +
          '<div class="gm-footer">' + w("data") + ": " + f.vintage + " &middot; " + w("generated") + " " +
          f.generated + " &middot; " + w("config") + " " + f.config + " (" + f.fingerprint + ") &middot; gapmap " +
          f.version + ' <button type="button" class="gm-print">' + w("printView") + "</button></div>";
        L.DomEvent.disableClickPropagation(lbox);
        L.DomEvent.disableScrollPropagation(lbox);
        lbox.querySelector(".gm-print").addEventListener("click", function () { window.print(); });
        Array.prototype.forEach.call(lbox.querySelectorAll("a[data-s]"), function (a) {
          a.addEventListener("click", function (e) {
            e.preventDefault();
            focusService(Number(a.getAttribute("data-s")));
          });
        });
        return lbox;
      }
    });
    var legend = new Legend().addTo(map).getContainer();
    legendParts();

    // print only: a title over the map, and the services without a point on a second page
    var printHead = div("gm-print-head");
    document.body.insertBefore(printHead, document.body.firstChild);
    var printList = div("gm-print-list");
    printList.innerHTML = "<h2>" + w("printList") + "</h2><table><tbody>" + unplaced.map(function (i) {
      var s = S[i];
      return "<tr><td>" + s.name + (s.organization && s.organization !== s.name ? "<br><small>" +
             s.organization + "</small>" : "") + "</td><td>" + s.needs.map(needName).join(", ") +
             "</td><td class=gm-t>" + (s.phone || "") + "</td></tr>";
    }).join("") + "</tbody></table><p><small>" + w("sources") + ": " + D.attribution + "</small></p>";
    if (unplaced.length) { document.body.appendChild(printList); }

    // the texts that name the need shown, the threshold bands and the page's language
    function gapKey() {
      var th = needs[current].thresholdMin, from = th, parts = [];
      D.gapColours.forEach(function (g) {
        if (g.uptoMin !== null && g.uptoMin <= from) { return; }
        parts.push('<span class="gm-key">' + swatch(g.colour, "gm-round") +
                   (g.uptoMin === null ? "&gt; " + from : from + "–" + g.uptoMin) + " min</span>");
        if (g.uptoMin !== null) { from = g.uptoMin; }
      });
      parts.push('<span class="gm-key">' + swatch(D.noTimeColour, "gm-round") + w("noDrive") + "</span>");
      var seen = {};
      D.gaps[current].reachedBy.forEach(function (b) { seen[D.reachedByCodes[b]] = true; });
      var rings = ["none", "outreach", "line", "hours_unknown"].filter(function (b) { return seen[b]; });
      return w("gapLegend") + "<br>" + parts.join(" ") + (rings.length ? '<div class="gm-reachkey">' +
        w("reachLegend") + ":<br>" + rings.map(function (b) {
          var r = REACH_STYLE[b];
          return '<span class="gm-key"><span class="gm-sw gm-round gm-reachsw" style="border:' +
                 Math.max(2, Math.round(r.weight)) + "px " + (r.dash ? (r.dash === "1 4" ? "dotted " : "dashed ") : "solid ") +
                 r.color + '"></span>' + w("reach_" + b) + "</span>";
        }).join(" ") + "</div>" : "");
    }
    // the legends of the optional layers, shown while their layer is
    function legendParts() {
      if (!legend) { return; }
      var wk = legend.querySelector(".gm-wrapkey"), sk = legend.querySelector(".gm-sitekey");
      wk.hidden = !wrapShown();
      if (W) {
        wk.innerHTML = w("wrapLegend") + " " + W.counted + "):<br>" + wrapBins(W.counted).map(function (b) {
          return '<span class="gm-key">' + swatch(b[2], "gm-round") + b[1] + "</span>";
        }).join(" ");
      }
      var ak = legend.querySelector(".gm-accesskey");
      ak.hidden = !accessShown();
      if (A) {
        ak.innerHTML = "<b>" + w("accessLayer") + "</b> &middot; " + needName(current) + ": " + w("accessLegend") + "<br>" +
          accessBandLabels().map(function (b) {
            return '<span class="gm-key">' + swatch(b[1], "gm-round") + b[0] + "</span>";
          }).join(" ") + "<br><small>" +
          w(A.basis[current] === "capacity" ? "accessCaveatCapacity" : "accessCaveatUnit") + "</small>";
      }
      sk.hidden = !map.hasLayer(siteLayer);
      sk.innerHTML = '<span class="gm-site gm-site-key"><span>1</span></span>' + w("sitesLegend");
    }
    function updateTexts() {
      var need = needs[current];
      var title = needName(current) + " &middot; " + w("threshold") + " " + need.thresholdMin + " min";
      legend.querySelector(".gm-legend-title").innerHTML = D.region + ": " + title;
      legend.querySelector(".gm-gapkey").innerHTML = gapKey();
      var rr = D.regionReach[current];
      legend.querySelector(".gm-regionreach").innerHTML = rr ? D.region + ", " + w("regionReach") + ": " +
        [["inPerson", "inPersonShort"], ["outreachOnly", "outreachOnlyShort"], ["lineOnly", "lineOnlyShort"],
         ["hoursUnknown", "hoursUnknownShort"], ["notReached", "notReachedShort"]].filter(function (k) {
          return k[0] === "inPerson" || rr[k[0]] > 0;
        }).map(function (k) { return "<b>" + pct(rr[k[0]]) + "</b> " + w(k[1]); }).join(" &middot; ") : "";
      var bk = legend.querySelector(".gm-bandkey");
      if (bk) {
        bk.innerHTML = w("bands") + ": " + (D.bands[current] || []).slice().reverse().map(function (b) {
          return '<span class="gm-key">' + swatch(BAND_STYLE[b.minutes] || "#54a24b", "gm-line") +
                 b.minutes + " min</span>";
        }).join(" ");
      }
      printHead.innerHTML = "<b>" + w("printOf") + " &middot; " + D.region + "</b> &middot; " + title +
                            " &middot; " + D.footer.generated;
    }
    function setLanguage(l) {
      lang = l === "fr" ? "fr" : "en";
      document.documentElement.lang = lang;
      var input = api.searchInput;
      input.placeholder = plain("search");
      input.setAttribute("aria-label", plain("search"));
      Array.prototype.forEach.call(select.options, function (o) {
        o.textContent = o.getAttribute(lang === "fr" ? "data-fr" : "data-en")
          .replace(/&#x27;/g, "'").replace(/&amp;/g, "&");
      });
      var b = document.querySelector(".gm-lang");
      b.textContent = plain("language");
      b.setAttribute("lang", lang === "fr" ? "en" : "fr");
      b.setAttribute("aria-label", plain("languageLabel"));
      var close = panel.querySelector(".gm-close");
      if (close) { close.setAttribute("aria-label", plain("close")); }
      var toggle = control.getContainer().querySelector(".leaflet-control-layers-toggle");
      if (toggle) { toggle.title = plain("layers"); toggle.setAttribute("aria-label", plain("layers")); }
      [[".leaflet-control-zoom-in", "zoomIn"], [".leaflet-control-zoom-out", "zoomOut"]].forEach(function (z) {
        var b = document.querySelector(z[0]);
        if (b) { b.title = plain(z[1]); b.setAttribute("aria-label", plain(z[1])); }
      });
      overlay.setAttribute("aria-label", plain("controls"));
      panel.setAttribute("aria-label", plain("details"));
      var results = document.getElementById("gm-search-list");
      if (results) { results.setAttribute("aria-label", plain("results")); }
      var popupClose = document.querySelector(".leaflet-popup-close-button");
      if (popupClose) { popupClose.setAttribute("aria-label", plain("closePopup")); }
      titled.forEach(retitle);
      siteMarkers.forEach(retitle);
      placeKeys();
      legendParts();  // its numbers (0.1 / 0,1)
      if (api.onLanguage) { api.onLanguage(); }
      box.setAttribute("aria-label", plain("mapLabel") + ": " + D.region.replace(/&amp;/g, "&"));
    }

    // print: the legend open, the whole area fitted to the page beside the legend
    var wasOpen = null, wasView = null;
    function toPrint() {
      if (wasOpen) { return; }
      wasOpen = Array.prototype.map.call(legend.querySelectorAll("details"), function (d) {
        var o = d.open; d.open = !d.classList.contains("gm-unplaced"); return o;
      });
      wasView = [map.getCenter(), map.getZoom()];
      map.invalidateSize({ animate: false });
      map.fitBounds(D.bounds, { paddingTopLeft: [5, 5], paddingBottomRight: [290, 5], animate: false });
    }
    function fromPrint() {
      if (!wasOpen) { return; }
      Array.prototype.forEach.call(legend.querySelectorAll("details"), function (d, j) {
        d.open = wasOpen[j];
      });
      wasOpen = null;
      map.invalidateSize({ animate: false });
      map.setView(wasView[0], wasView[1], { animate: false });
    }
    window.addEventListener("beforeprint", toPrint);
    window.addEventListener("afterprint", fromPrint);
    if (window.matchMedia) {
      var printing = window.matchMedia("print");
      var onChange = function (e) { if (e.matches) { toPrint(); } else { fromPrint(); } };
      if (printing.addEventListener) { printing.addEventListener("change", onChange); }
      else if (printing.addListener) { printing.addListener(onChange); }
    }

    function resetView() {
      // a view set during a zoom animation would be undone when the animation ends
      if (map._animatingZoom) { map.once("zoomend", resetView); return; }
      var wide = window.innerWidth >= 700;
      map.fitBounds(D.bounds, { paddingTopLeft: [wide ? 40 : 5, wide ? 5 : 50], animate: false,
                                paddingBottomRight: [wide ? 300 : 5, 5] });
    }
    setLanguage(D.language);
    setNeed(0);
    resetView();
    placeLabels();

    api.cluster = cluster;
    api.markers = markers;
    api.needLayers = needLayers;
    api.gapLayers = gapLayers;
    api.summary = summary;
    api.bands = bandLayer;
    api.wrap = wrapLayer;
    api.sites = siteLayer;
    api.access = accessLayer;
    api.keys = keyLayer;
    api.control = control;
    api.osm = osm;
    api.shown = function () { return shown.length; };
    api.showCommunity = showCommunity;
    api.focusService = focusService;
    api.resetView = resetView;
    api.setNeed = setNeed;
    api.setLanguage = setLanguage;
    api.fold = function (t) { return fold(esc(t)).trim(); };
    api.search = function (q) { return findAll(q).map(function (h) { return h.kind + ":" + h.html; }); };
    api.need = function () { return current; };
    api.readyMs = window.performance ? performance.now() : null;  // bench/bench_maps.py
    api.ready = true;
  }

  window.gapmapInit = gapmapInit;
})();
