/* The enrol form: narrow the class list to the chosen school, school year, level and grade as they change.
   The page works without this script (its "Show the classes" button asks the server); the server checks the
   class either way. No inline script: the Content-Security-Policy allows only files from the site. */
(function () {
  "use strict";
  var data = document.getElementById("enrol-classes");
  if (!data) { return; }
  var form = data.closest("form");
  var school = form.querySelector("#school"), start = form.querySelector("#start_date");
  var level = form.querySelector("#level"), grade = form.querySelector("#grade");
  var select = form.querySelector("#class_id"), hint = document.getElementById("class_id-hint");
  var classes = JSON.parse(data.getAttribute("data-classes") || "[]");
  var years = JSON.parse(data.getAttribute("data-years") || "[]");

  function yearOf(day) {  /* as tracker.enrolment.operations.year_for: the first year whose window holds the day */
    for (var i = 0; i < years.length; i++) {
      if (years[i].from <= day && day <= years[i].to) { return years[i].id; }
    }
    return null;
  }

  function narrow() {
    var year = start.value ? yearOf(start.value) : null, g = parseInt(grade.value, 10), keep = select.value;
    var fit = classes.filter(function (c) {
      return c.school === school.value && c.year === year && c.level === level.value && c.grade === g;
    });
    select.innerHTML = "";
    select.appendChild(new Option(data.getAttribute("data-none"), ""));
    fit.forEach(function (c) { select.appendChild(new Option(c.label, c.id, false, c.id === keep)); });
    if (hint) {
      hint.textContent = fit.length ? data.getAttribute("data-fit-some").replace("{n}", String(fit.length))
        : data.getAttribute("data-fit-none");
    }
  }

  narrow();  /* the same list the server sent, with the hint for a page that narrows itself */
  var step = document.getElementById("class-step");
  if (step) { step.hidden = true; }
  [school, start, level, grade].forEach(function (el) {
    if (el) { el.addEventListener("change", narrow); el.addEventListener("input", narrow); }
  });
})();
