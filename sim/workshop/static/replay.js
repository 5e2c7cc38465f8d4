// Replays an exported run: a slider walks through its weeks.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("cpec-data").textContent);
  const full = data.view.branches.map((b) => b.history);
  const slider = document.getElementById("replay");
  const weeks = Math.max(...full.map((h) => h.length));
  slider.max = weeks; slider.value = weeks;
  function show(n) {
    const view = JSON.parse(JSON.stringify(data.view));
    view.branches.forEach((b, i) => (b.history = full[i].slice(0, n)));
    CPEC.setView(view);
    document.getElementById("replay-week").textContent = n;
  }
  slider.oninput = () => show(Number(slider.value));
  document.getElementById("major").onchange = () => { CPEC.world.majorOnly = document.getElementById("major").checked; CPEC.drawAll(); };
  const rows = data.decisions.map((e) => `<tr><td>${e.week}</td><td>${CPEC.esc(e.seat)}</td><td>${CPEC.esc(e.participant)}</td><td>${CPEC.esc(e.control)} = ${CPEC.esc(e.value)}</td></tr>`);
  // which decisions these are: a participant's export holds their own seat's only
  const note = data.decisions_note ? `<caption>${CPEC.esc(data.decisions_note)}</caption>` : "";
  const empty = data.decisions_note ? "No decisions in this export." : "No seat decisions: the model decided throughout.";
  document.getElementById("decisions").innerHTML = note + (rows.length ? "<tr><th>week</th><th>seat</th><th>participant</th><th>decision</th></tr>" + rows.join("") : `<tr><td>${empty}</td></tr>`);
  // the room's last debrief, as the facilitator's page showed it
  if (data.debrief) {
    const later = weeks > data.debrief.week
      ? `<p class="cpec-notice">This debrief is of the first ${data.debrief.week} weeks; the run below went on to week ${weeks}: what happened and was decided after week ${data.debrief.week} is not in it.</p>` : "";
    const forked = data.view.fork_week !== null ? "<p>After a fork, the debrief compares branch A.</p>" : "";
    document.getElementById("debrief-out").innerHTML = later + forked + CPEC.debriefHtml(data.debrief);
    document.getElementById("debrief-card").hidden = false;
  }
  document.getElementById("reproduce-note").hidden = !data.room;
  // the replicates last run from the page, as it showed them
  const reps = data.view.replicates;
  document.getElementById("replicates-out").innerHTML = reps ? CPEC.replicatesHtml(reps)
    : data.debrief ? "No replicates were run from this page beyond the debrief's."
    : "No replicates were run from this page: this run is one story, one draw among many.";
  show(weeks);
})();
