// The hall display: follow the agency's calls as server-sent events and show each one, newest on top.
// Every call comes with its id, so a reconnecting browser resumes after the last one it showed
// (Last-Event-ID). Without scripts the page reloads itself instead (its <noscript> refresh).
(function () {
  "use strict";
  var hall = document.getElementById("hall");
  if (!hall || !window.EventSource) { return; }
  var now = document.getElementById("hall-now");
  var list = document.getElementById("hall-list");
  var shown = parseInt(hall.dataset.shown, 10) || 8;

  function span(className, text, id) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    if (id) { el.id = id; }
    return el;
  }

  function showNow(call) {
    var line = document.createElement("p");
    line.className = "hall-call";
    line.appendChild(span("hall-no", call.queue_no, "hall-now-no"));
    line.appendChild(document.createTextNode(" "));
    var arrow = span("hall-arrow", "→");
    arrow.setAttribute("aria-hidden", "true");
    line.appendChild(arrow);
    line.appendChild(document.createTextNode(" "));
    var to = span("hall-to", "");
    to.appendChild(span("hall-to-label", hall.dataset.counterLabel));
    to.appendChild(document.createTextNode(" "));
    to.appendChild(span("hall-counter", call.counter, "hall-now-counter"));
    line.appendChild(to);
    var service = document.createElement("p");
    service.className = "hall-service";
    service.id = "hall-now-service";
    service.textContent = call.service + (call.kind === "recall" ? " · " + hall.dataset.recallLabel : "");
    while (now.firstChild) { now.removeChild(now.firstChild); }  // older TV browsers lack replaceChildren
    now.appendChild(line);
    now.appendChild(service);
    now.classList.remove("fresh");
    void now.offsetWidth;  // restart the highlight
    now.classList.add("fresh");
  }

  function addRow(call) {
    var row = document.createElement("tr");
    var no = document.createElement("th");
    no.scope = "row";
    no.textContent = call.queue_no;
    row.appendChild(no);
    [call.counter, call.service, call.at].forEach(function (text) {
      var cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    });
    list.insertBefore(row, list.firstChild);
    while (list.children.length > shown) { list.removeChild(list.lastChild); }
  }

  var source = new EventSource(hall.dataset.events);
  source.addEventListener("call", function (event) {
    var call = JSON.parse(event.data);
    showNow(call);
    addRow(call);
    hall.dataset.last = call.id;
  });
})();
