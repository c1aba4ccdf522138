// The Audit Log page's few behaviours that HTML and htmx do not cover. The
// page works without this file; it only makes it quicker to use.
(function () {
  "use strict";

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
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    var dialog = document.getElementById("entry-dialog");
    if (dialog && dialog.open) return;
    var q = document.getElementById("q");
    if (!q) return;
    e.preventDefault();
    q.focus();
    q.select();
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
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

  // The server names the entry panel's arrival; show it as a modal panel.
  document.addEventListener("auditlog:entry-opened", function () {
    var dialog = document.getElementById("entry-dialog");
    if (dialog && !dialog.open) dialog.showModal();
    var panel = document.getElementById("entry-panel");
    if (panel) panel.scrollTop = 0;
  });

  // Typing in the search box sends a search after each pause; say so, so the
  // server can answer a half-typed query beside the box instead of replacing
  // the results with an error. Enter (the "search" event) is a real search.
  document.addEventListener("htmx:configRequest", function (e) {
    var ev = e.detail.triggeringEvent;
    if (ev && ev.type === "input" && e.detail.elt && e.detail.elt.id === "q") {
      e.detail.headers["X-Search-Typing"] = "true";
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
  // A successful swap clears an earlier error notice.
  document.addEventListener("htmx:afterSwap", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.target !== flash && !e.detail.failed) flash.textContent = "";
  });
})();
