/* The main menu folds behind a "Menu" button on a phone and stays open on a wider screen.
   Without this script the menu is a plain disclosure: it works, folded, everywhere. */
(function () {
  var menu = document.getElementById("menu");
  if (!menu || !window.matchMedia) { return; }
  var wide = window.matchMedia("(min-width: 56rem)");
  function fit() {
    menu.classList.toggle("wide", wide.matches);
    if (wide.matches) { menu.open = true; } else if (!menu.dataset.touched) { menu.open = false; }
  }
  menu.addEventListener("toggle", function () { if (!wide.matches) { menu.dataset.touched = "1"; } });
  fit();
  if (wide.addEventListener) { wide.addEventListener("change", fit); }
}());
