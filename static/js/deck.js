// The All-Hands deck's presenter's view: "Present" shows one slide at a time, as large as
// the screen allows; the arrow keys (and Page Up/Down, Space, Home, End) and the buttons
// move between slides, Escape leaves. The slide shown is kept in the address (#slide-...).
// Without JavaScript the button stays hidden and the deck is a page of slides to scroll.
document.addEventListener("DOMContentLoaded", function () {
  var deck = document.querySelector("[data-deck]");
  var present = document.querySelector("[data-deck-present]");
  var controls = document.querySelector("[data-deck-controls]");
  if (!deck || !present || !controls) { return; }
  var slides = Array.prototype.slice.call(deck.querySelectorAll(".deck-slide"));
  var counter = controls.querySelector("[data-deck-counter]");
  var current = 0;

  function show(index) {
    current = Math.min(Math.max(index, 0), slides.length - 1);
    slides.forEach(function (slide, i) { slide.classList.toggle("current", i === current); });
    counter.textContent = counter.dataset.deckCounterText
      .replace("{current}", current + 1).replace("{total}", slides.length);
    history.replaceState(null, "", "#" + slides[current].id);
  }

  function start() {
    var fromAddress = slides.findIndex(function (slide) { return "#" + slide.id === location.hash; });
    document.body.classList.add("presenting");
    controls.hidden = false;
    show(fromAddress < 0 ? 0 : fromAddress);
    controls.querySelector("[data-deck-next]").focus();
  }

  function stop() {
    document.body.classList.remove("presenting");
    controls.hidden = true;
    slides[current].scrollIntoView();
    present.focus();
  }

  var keys = {
    ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1,
    ArrowLeft: -1, ArrowUp: -1, PageUp: -1
  };
  document.addEventListener("keydown", function (event) {
    if (!document.body.classList.contains("presenting") || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key in keys) { show(current + keys[event.key]); }
    else if (event.key === "Home") { show(0); }
    else if (event.key === "End") { show(slides.length - 1); }
    else if (event.key === "Escape") { stop(); }
    else { return; }
    event.preventDefault();
  });
  present.hidden = false;
  present.addEventListener("click", start);
  controls.querySelector("[data-deck-prev]").addEventListener("click", function () { show(current - 1); });
  controls.querySelector("[data-deck-next]").addEventListener("click", function () { show(current + 1); });
  controls.querySelector("[data-deck-exit]").addEventListener("click", stop);
});
