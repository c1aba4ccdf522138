// The Audit Log page's few behaviours that HTML and htmx do not cover. The
// page works without this file; it only makes it quicker to use.
(function () {
  "use strict";

  // Remembered view preferences, as classes on <html> so they hold across
  // htmx swaps. This file runs in <head>, before the first paint.
  var root = document.documentElement;
  var prefs = { density: "density-compact", chart: "chart-collapsed", shortcuts: "shortcuts-off" };
  function stored(key) {
    try { return window.localStorage.getItem("auditlog." + key) === "1"; } catch (e) { return false; }
  }
  function store(key, on) {
    try { window.localStorage.setItem("auditlog." + key, on ? "1" : "0"); } catch (e) { /* private mode: not remembered */ }
  }
  root.classList.add("js");
  Object.keys(prefs).forEach(function (key) { root.classList.toggle(prefs[key], stored(key)); });
  // The toggles say their state to assistive technology, after every swap too.
  function syncToggles() {
    document.querySelectorAll("[data-toggle=density]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(root.classList.contains(prefs.density)));
    });
    document.querySelectorAll("[data-toggle=chart]").forEach(function (b) {
      b.setAttribute("aria-expanded", String(!root.classList.contains(prefs.chart)));
    });
    document.querySelectorAll("[data-toggle=shortcuts]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(shortcutsOn()));
    });
  }
  // The one-key shortcuts (/, j and k) can be turned off (WCAG 2.1.4): a
  // person who speaks to the page, or types with one finger, must not set
  // them off by accident.
  function shortcutsOn() { return !root.classList.contains(prefs.shortcuts); }
  document.addEventListener("DOMContentLoaded", syncToggles);
  document.addEventListener("htmx:afterSettle", syncToggles);

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // "/" jumps to the search box, as in most consoles; Escape closes a menu.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      });
    }
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target) || !shortcutsOn()) return;
    var dialog = document.getElementById("entry-dialog");
    if (dialog && dialog.open) return;
    var q = document.getElementById("q");
    if (!q) return;
    e.preventDefault();
    q.focus();
    q.select();
  });

  // The chart is one tab stop; the arrow keys move between its days, Home and
  // End go to the first and last, and Enter opens the focused day.
  document.addEventListener("keydown", function (e) {
    var day = e.target.closest && e.target.closest(".chart-svg a.day");
    if (!day) return;
    var days = Array.prototype.slice.call(day.parentNode.querySelectorAll("a.day"));
    var i = days.indexOf(day), next = -1;
    switch (e.key) {
      case "ArrowLeft": case "ArrowDown": next = Math.max(0, i - 1); break;
      case "ArrowRight": case "ArrowUp": next = Math.min(days.length - 1, i + 1); break;
      case "Home": next = 0; break;
      case "End": next = days.length - 1; break;
      case "Enter": case " ":
        e.preventDefault();
        if (window.htmx) window.htmx.trigger(day, "click"); else window.location.href = day.getAttribute("href");
        return;
      default: return;
    }
    e.preventDefault();
    days.forEach(function (d, j) { d.setAttribute("tabindex", j === next ? "0" : "-1"); });
    days[next].focus();
  });

  // j and k move between the table's rows, as in mail programs; Enter opens
  // the focused one. Not while typing, and not behind the entry panel.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    var dialog = document.getElementById("entry-dialog");
    if (dialog && dialog.open) return;
    var row = e.target.closest && e.target.closest("#entries tr.entry");
    if (e.key === "Enter" && row && e.target === row) {
      e.preventDefault();
      var link = row.querySelector("a.entry-link");
      if (link) link.click();
      return;
    }
    if ((e.key !== "j" && e.key !== "k") || !shortcutsOn()) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("#entries tr.entry"));
    if (!rows.length) return;
    var i = rows.indexOf(row);
    var next = i < 0 ? 0 : e.key === "j" ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1);
    e.preventDefault();
    rows[next].focus({ preventScroll: true });
    rows[next].scrollIntoView({ block: "nearest" });
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
    // The density and chart toggles, remembered for the next visit.
    var toggle0 = t.closest && t.closest("[data-toggle]");
    if (toggle0) {
      var key = toggle0.getAttribute("data-toggle");
      if (prefs[key]) {
        var on = root.classList.toggle(prefs[key]);
        store(key, on);
        syncToggles();
        return;
      }
    }
    // A click anywhere on an entry's row opens it, like its link does;
    // selecting text in the row does not.
    var row = t.closest && t.closest("tr[data-entry]");
    if (row && !t.closest("a, button, input, select, summary")) {
      var sel = window.getSelection && window.getSelection();
      if (sel && String(sel).length > 0) return;
      var link = row.querySelector("a.entry-link");
      if (link) link.click();
      return;
    }
    // The chart's day links live in SVG, where htmx does not stop the
    // browser from following them; let htmx handle the plain click.
    var svgLink = t.closest && t.closest("svg a[hx-get]");
    if (svgLink && !(e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0)) {
      e.preventDefault();
    }
    // The settings menu folds away on narrow windows.
    var toggle = t.closest && t.closest(".nav-toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("nav-open", open);
    }
    // A click outside an open menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(t)) menu.removeAttribute("open");
    });
    // A click on the dimmed backdrop closes the entry panel.
    if (t.id === "entry-dialog") t.close();
  });
  // An open menu also closes when Tab takes the focus out of it: left open,
  // it would cover what the focus went to.
  document.addEventListener("focusout", function (e) {
    var menu = e.target.closest && e.target.closest("details.menu[open]");
    if (menu && e.relatedTarget && !menu.contains(e.relatedTarget)) menu.removeAttribute("open");
  });

  // The server names the entry panel's arrival; show it as a modal panel.
  document.addEventListener("auditlog:entry-opened", function () {
    var dialog = document.getElementById("entry-dialog");
    if (dialog && !dialog.open) dialog.showModal();
    var panel = document.getElementById("entry-panel");
    if (panel) panel.scrollTop = 0;
  });

  // The entry panel shows the entry opened last. Entry links are not made
  // to cancel each other's requests (each is an element of its own), so on
  // a slow network the answer to an earlier click can arrive after the
  // later one's: it is then dropped whole, before it would replace the
  // panel or reopen it after it was closed.
  var latestEntry = null;
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.target && e.detail.target.id === "entry-panel") latestEntry = e.detail.xhr;
  });
  document.addEventListener("htmx:beforeOnLoad", function (e) {
    if (e.detail.target && e.detail.target.id === "entry-panel" && e.detail.xhr !== latestEntry) e.preventDefault();
  });
  // Closing the panel gives up what it was waiting for: an answer that
  // arrives after must not open it again.
  document.addEventListener("close", function (e) {
    if (e.target && e.target.id === "entry-dialog") latestEntry = null;
  }, true);

  // Typing in the search box sends a search after each pause; say so, so the
  // server can answer a half-typed query beside the box instead of replacing
  // the results with an error. Enter (the "search" event) is a real search.
  // A search typed further replaces the address only of a search that was
  // itself typed, not of one confirmed with Enter or opened from a link:
  // those stay a step of Back.
  var typedURL = null;
  document.addEventListener("htmx:configRequest", function (e) {
    var ev = e.detail.triggeringEvent;
    if (ev && ev.type === "input" && e.detail.elt && e.detail.elt.id === "q") {
      e.detail.headers["X-Search-Typing"] = "true";
      if (typedURL === location.pathname + location.search) e.detail.headers["X-Search-Continues"] = "true";
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr, headers = e.detail.requestConfig && e.detail.requestConfig.headers;
    if (!xhr) return;
    var url = xhr.getResponseHeader("HX-Push-Url") || xhr.getResponseHeader("HX-Replace-Url");
    if (headers && headers["X-Search-Typing"]) {
      if (url) typedURL = url;
    } else if (url || (e.detail.elt && e.detail.elt.id === "q")) {
      typedURL = null; // another view, or this one confirmed (Enter)
    }
  });

  // Arrow keys on the time-range control change it, and so search, at each
  // step: a range stepped to from one stepped to before replaces it in the
  // address, so that Back goes to the range before the stepping rather than
  // through every one passed. A range chosen from the list stays a step.
  var rangeKeyAt = 0, steppedURL = null;
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.id === "range-select" && /^(Arrow|Page|Home|End)/.test(e.key)) rangeKeyAt = Date.now();
  }, true);
  document.addEventListener("htmx:configRequest", function (e) {
    if (!e.detail.elt || e.detail.elt.id !== "range-select") return;
    if (Date.now() - rangeKeyAt < 1000) {
      e.detail.headers["X-Range-Step"] = "true";
      if (steppedURL === location.pathname + location.search) e.detail.headers["X-Range-Step-Continues"] = "true";
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr, headers = e.detail.requestConfig && e.detail.requestConfig.headers;
    if (!xhr) return;
    var url = xhr.getResponseHeader("HX-Push-Url") || xhr.getResponseHeader("HX-Replace-Url");
    if (headers && headers["X-Range-Step"]) {
      if (url) steppedURL = url;
    } else if (url) {
      steppedURL = null; // another view
    }
  });

  // The results say when they are loading, for assistive technology.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var results = document.getElementById("results");
    if (results && e.detail.target === results) results.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function () {
    var results = document.getElementById("results");
    if (results) results.setAttribute("aria-busy", "false");
  });

  // When the server cannot be reached at all, say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (!flash) return;
    flash.textContent = "";
    var box = document.createElement("div");
    box.className = "notice notice-error";
    box.setAttribute("role", "alert");
    box.textContent = "The Audit Log can't be reached. Is it still running? Start it again with auditlog, then reload this page.";
    flash.appendChild(box);
  });
  // A swap that removes the focused element (the row that loads older
  // entries, a namespace tab, a chart day) would drop focus to the page,
  // and the next Tab would start again at its top. Focus goes instead to
  // the first of the older rows, or to what the swap put in the focused
  // element's place: the chosen tab, the chosen day.
  // Swaps overlap (the rows, the counts), so each is matched to its own.
  // Where the focus is is noted when the request leaves as well as before
  // the swap: while older entries load, their row hides its link.
  var refocus = null;
  function noteFocus(e) {
    var a = document.activeElement, target = e.detail.target;
    if (!a || a === document.body || !target || !target.contains(a)) return;
    refocus = {
      xhr: e.detail.xhr,
      after: target.classList.contains("more") ? target.previousElementSibling : null,
      tab: !!(a.closest && a.closest(".ns-tabs")),
      day: !!(a.closest && a.closest(".chart-svg"))
    };
  }
  document.addEventListener("htmx:beforeRequest", noteFocus);
  document.addEventListener("htmx:beforeSwap", noteFocus);
  document.addEventListener("htmx:afterSettle", function (e) {
    var r = refocus;
    if (!r || r.xhr !== e.detail.xhr) return;
    refocus = null;
    if (document.activeElement && document.activeElement !== document.body) return;
    var el = null;
    if (r.after) el = r.after.nextElementSibling;
    else if (r.tab) el = document.querySelector(".ns-tabs a[aria-current]");
    else if (r.day) el = document.querySelector(".chart-svg a.day[tabindex='0']");
    if (!el) el = document.getElementById("results");
    if (el) el.focus({ preventScroll: true });
  });

  // Older entries that could not be loaded say so, in place of a spinner
  // that would turn for ever; the row's link loads them as a page.
  function moreFailed(e) {
    var row = e.detail.elt;
    if (!row || !row.classList || !row.classList.contains("more")) return;
    row.classList.add("is-failed");
    var cell = row.querySelector("td"), link = row.querySelector(".more-link");
    if (!cell) return;
    cell.textContent = "Older entries could not be loaded. ";
    if (link) { link.textContent = "Try again"; cell.appendChild(link); }
  }
  // An answer of 4xx or 5xx is not an htmx error here (the page's config
  // says so: htmx would log each one to the console, although the server
  // answers it with a notice for #flash), so its status is looked at.
  function failedAnswer(e) {
    return !!(e.detail.xhr && e.detail.xhr.status >= 400);
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    if (failedAnswer(e)) moreFailed(e);
  });
  document.addEventListener("htmx:sendError", moreFailed);
  // New results are announced: their summary ("12 entries since Nov 20,
  // 1 new") goes into the live region that stays on the page.
  document.addEventListener("htmx:afterSettle", function (e) {
    var status = document.getElementById("results-status");
    var summary = document.querySelector("#results .summary");
    var target = e.detail.target; // none for a swap out of band
    if (!status || !summary || !target || target.id !== "results") return;
    status.textContent = summary.textContent.replace(/\s+/g, " ").trim();
  });
  // A successful swap clears an earlier error notice.
  document.addEventListener("htmx:afterSwap", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.target !== flash && !failedAnswer(e)) flash.textContent = "";
  });

  // A copy button beside a secret shown once: [data-copy] names what to copy.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-copy]");
    if (!btn) return;
    var src = document.querySelector(btn.getAttribute("data-copy"));
    var status = btn.parentNode.querySelector(".copy-status");
    if (!src) return;
    var text = src.textContent.trim();
    function done(msg) { if (status) status.textContent = msg; }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done("Copied."); }, function () {
        window.getSelection().selectAllChildren(src);
        done("Selected: press Ctrl+C (or ⌘C) to copy.");
      });
    } else {
      window.getSelection().selectAllChildren(src);
      done("Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  });
})();
