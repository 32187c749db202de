/* The officer's desk: cascading selects, the due-date preview and search-as-you-type.
   No date arithmetic here: the preview is an HTML fragment computed by the server. Without this
   script the form still works: every option is listed and the server checks each pair. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // Fetch an HTML fragment into a box; a lost session reloads the page (to the login form).
  function load(box, href) {
    return fetch(href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          box.innerHTML = html;
        }
      })
      .catch(function () { /* offline: the server checks everything on saving */ });
  }

  // A child select keeps only the options whose data-parent is its parent's value.
  function cascade(form) {
    var children = form.querySelectorAll("select[data-cascade-from]");
    Array.prototype.forEach.call(children, function (child) {
      var parent = document.getElementById(child.getAttribute("data-cascade-from"));
      var all = Array.prototype.map.call(child.options, function (o) { return o.cloneNode(true); });
      function rebuild() {
        var keep = child.value;
        while (child.options.length) {
          child.remove(0);
        }
        all.forEach(function (o) {
          if (!o.value || o.getAttribute("data-parent") === parent.value) {
            child.appendChild(o.cloneNode(true));
          }
        });
        child.value = keep;
        if (child.value !== keep) {
          child.value = "";
        }
        child.dispatchEvent(new Event("change", { bubbles: true }));
      }
      parent.addEventListener("change", rebuild);
      rebuild();
    });
  }

  function preview(form) {
    var box = document.getElementById("preview");
    if (!box) {
      return;
    }
    var names = ["manual_id", "submitted_on", "clock_started_on"];
    var last = "";
    var refresh = debounce(function () {
      var params = new URLSearchParams();
      names.forEach(function (name) {
        var field = form.elements[name];
        params.set(name, field ? field.value : "");
      });
      if (box.getAttribute("data-request")) {
        params.set("request_no", box.getAttribute("data-request"));
      }
      var query = params.toString();
      if (query !== last) {
        last = query;
        load(box, box.getAttribute("data-url") + "?" + query);
      }
    }, 200);
    names.forEach(function (name) {
      var field = form.elements[name];
      if (field) {
        field.addEventListener("change", refresh);
        field.addEventListener("input", refresh);
      }
    });
  }

  function matches() {
    var input = document.getElementById("request_no");
    var box = document.getElementById("request_no-matches");
    if (!input || !box) {
      return;
    }
    input.setAttribute("aria-controls", box.id);
    input.addEventListener("input", debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) {
        box.innerHTML = "";
        return;
      }
      load(box, box.getAttribute("data-url") + "?q=" + encodeURIComponent(q));
    }, 250));
  }

  var form = document.getElementById("desk-form");
  if (form) {
    cascade(form);
    preview(form);
    matches();
  }
}());
