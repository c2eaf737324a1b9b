// The queue page's keys: j and k move the selection through the tickets, Enter opens the selected one.
// The selection is the row's link taking the focus (so screen readers announce it) and a visible style;
// it survives the list's refresh by htmx.
(function () {
  "use strict";
  var selectedId = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tr[data-ticket]"));
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName));
  }

  function mark(row, focus) {
    rows().forEach(function (other) {
      other.classList.remove("selected");
    });
    if (!row) {
      return;
    }
    row.classList.add("selected");
    selectedId = row.getAttribute("data-ticket");
    var link = row.querySelector("a");
    if (focus && link) {
      link.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    var list = rows();
    if (!list.length) {
      return;
    }
    var index = list.findIndex(function (row) {
      return row.classList.contains("selected");
    });
    if (event.key === "j") {
      mark(list[Math.min(index + 1, list.length - 1)], true);
      event.preventDefault();
    } else if (event.key === "k") {
      mark(list[Math.max(index - 1, 0)], true);
      event.preventDefault();
    } else if (event.key === "Enter" && index >= 0 && event.target.tagName !== "A") {
      var link = list[index].querySelector("a");
      if (link) {
        link.click();
        event.preventDefault();
      }
    }
  });

  // A link focused by the mouse or Tab selects its row too, so j and k go on from there.
  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("#queue tr[data-ticket]");
    if (row && !row.classList.contains("selected")) {
      mark(row, false);
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (selectedId === null) {
      return;
    }
    var row = document.querySelector('#queue tr[data-ticket="' + selectedId + '"]');
    var lost = document.activeElement === document.body || document.activeElement === null;
    mark(row, lost);
  });
})();
