// The sandbox: one run per tab, stepped by the tab's own clock.
"use strict";
(() => {
  const { $, esc, send, connect, setView, addDeltas, controlHtml, bindControls, readControl, replicatesHtml, world } = CPEC;
  let token = sessionStorage.getItem("cpec-solo-token") || "";
  // A duplicated tab inherits the open tab's sessionStorage, this mark included; a reloaded
  // tab does not (the page that went removed it): the server copies the run only for the first
  const duplicate = sessionStorage.getItem("cpec-solo-open") === "1";
  sessionStorage.setItem("cpec-solo-open", "1");
  window.addEventListener("pagehide", () => sessionStorage.removeItem("cpec-solo-open"));
  window.addEventListener("pageshow", () => sessionStorage.setItem("cpec-solo-open", "1"));
  let specs = [], scenarios = [], playing = false, waiting = false, resetting = false;
  const noReplicates = $("replicates-out").innerHTML;  // what the panel says before a run

  function fromAddress() {
    const q = new URLSearchParams(location.search), knobs = {};
    const named = (name) => [...q.keys()].find((k) => k.toLowerCase() === name);  // Seed, SCENARIO
    for (const [k, v] of q.entries()) {
      if (k.toLowerCase() === "scenario" || k.toLowerCase() === "seed") continue;
      // a plain decimal number as a number; anything else ("", "0x1") as text, which the
      // server refuses for a numeric setting (it falls back, with a notice)
      const number = /^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v);
      knobs[k] = v === "true" ? true : v === "false" ? false : (number ? Number(v) : v);
    }
    // only what the address names: a bare address resumes the tab's run, as a reload does
    const out = { knobs };
    if (named("scenario")) out.scenario = q.get(named("scenario"));
    if (named("seed")) out.seed = q.get(named("seed"));
    return out;
  }

  function toAddress(view) {
    const base = scenarios.find((s) => s.name === view.scenario);
    const q = new URLSearchParams({ scenario: view.scenario, seed: String(view.seed) });
    const knobs = view.branches[0].knobs;
    for (const k of Object.keys(knobs)) if (!base || base.knobs[k] !== knobs[k]) q.set(k, String(knobs[k]));
    history.replaceState(null, "", "?" + q.toString());
  }

  function sidebar(view) {
    $("scenario").innerHTML = scenarios.map((s) => `<option ${s.name === view.scenario ? "selected" : ""}>${esc(s.name)}</option>`).join("");
    describe(view.scenario);
    $("seed").value = view.seed;
    const knobs = view.branches[view.branches.length - 1].knobs;
    drawKnobs(view.scenario, knobs);
    pending();
  }

  function drawKnobs(scenario, knobs) {
    const notes = CPEC.notesOf(scenarios, scenario);
    $("knobs").innerHTML = specs.map((s) => controlHtml(s, knobs[s.name], "knob-", notes[s.name])).join("");
    bindControls($("knobs"), pending);
  }

  function describe(name) {
    const s = scenarios.find((x) => x.name === name) || {};
    $("description").textContent = s.description || "";
    $("passage").textContent = s.passage || "";
    $("passage").style.display = s.passage ? "" : "none";
  }

  function knobValues() {
    const out = {};
    $("knobs").querySelectorAll("[data-name]").forEach((el) => (out[el.dataset.name] = readControl(el)));
    return out;
  }

  function pending() {
    if (!world.view) return;
    const now = world.branches[world.branches.length - 1].knobs, v = knobValues();
    const changed = Object.keys(v).filter((k) => v[k] !== now[k]).map((k) => `${k} → ${v[k]}`);
    const forked = world.branches.length > 1;  // Fork is disabled: do not offer it
    $("pending").textContent = changed.length
      ? `Changed: ${changed.join(", ")}. Press Reset to run them` + (forked ? " (a new run: this one is forked already)." : ", or Fork here to run them as branch B beside this run (Run 100 replicates without a fork runs the settings on screen, not these).")
      : (forked ? "Move a setting, then press Reset to start a new run (this one is forked already)." : "Move a setting, then press Reset (or Fork here to branch from this week).");
    $("pending").classList.toggle("cpec-idle", !changed.length);  // red only when something waits
  }

  // Time from asking for a week to having drawn it, as this page sees it (the load benchmark
  // reads these: they leave out the browser automation's own overhead).
  window.cpecStepTimes = [];
  let asked = 0;

  function stepOnce() {
    if (waiting) return;
    waiting = true;
    asked = performance.now();
    send({ type: "step", n: 1 });
  }

  function setPlaying(on) {
    playing = on;
    $("play").textContent = on ? "Pause" : "▶ Play";
  }

  let first = true;  // only the first connection can be a duplicate's (later: reconnects)
  connect(() => { const d = first && duplicate; first = false; return { type: "solo", token, duplicate: d, ...fromAddress() }; }, {
    hello: (msg) => {
      token = msg.token; sessionStorage.setItem("cpec-solo-token", token); resetting = false;
      specs = msg.knobs; scenarios = msg.scenarios;
      $("meanings").innerHTML = specs.map((k) => `<p><b>${esc(k.label)}</b> (<code>${esc(k.path)}</code>): ${esc(k.help)}</p>`).join("");
      setView(msg.view); sidebar(msg.view); toAddress(msg.view);
      // the replicates of this run, if any were run (a new run or a fork has none yet)
      $("replicates-out").innerHTML = msg.view.replicates ? replicatesHtml(msg.view.replicates) : noReplicates;
      $("fork").disabled = msg.view.branches.length > 1;
      $("replicates").disabled = false;  // a reconnect: a job sent on the old socket is lost
      waiting = false;
      // a new run clears an earlier error; settings of the address that fell back say so
      const notices = msg.notices || [];
      CPEC.setStatus(notices.join(" "), notices.length > 0);
    },
    weeks: (msg) => {
      waiting = false;
      addDeltas(msg.deltas);
      window.cpecStepTimes.push(performance.now() - asked);
      if (window.cpecStepTimes.length > 1000) window.cpecStepTimes.shift();
      const st = world.branches[0].history.length ? world.branches[0].history.at(-1).state : null;
      if (st && !st.running) setPlaying(false);
      if (playing) setTimeout(stepOnce, 120);
    },
    replicates: (msg) => { $("replicates-out").innerHTML = replicatesHtml(msg.result); $("replicates").disabled = false; },
    error: (msg) => {
      waiting = false; CPEC.setStatus(msg.message, true); $("replicates").disabled = false;
      if (resetting && world.view) $("seed").value = world.view.seed;  // a refused seed: the run keeps its own
      resetting = false;
    },
  });

  $("step").onclick = () => { setPlaying(false); stepOnce(); };
  $("play").onclick = () => { setPlaying(!playing); if (playing) stepOnce(); };
  $("reset").onclick = () => { setPlaying(false); resetting = true; send({ type: "reset", scenario: $("scenario").value, seed: $("seed").value, knobs: knobValues() }); };
  $("fork").onclick = () => { setPlaying(false); send({ type: "fork", knobs: knobValues() }); };
  $("replicates").onclick = () => { $("replicates").disabled = true; $("replicates-out").textContent = "Running 100 replicates…"; send({ type: "replicates", n: 100 }); };
  $("export").onclick = () => { location.href = "/export?token=" + encodeURIComponent(token); };
  $("scenario").onchange = () => {
    const s = scenarios.find((x) => x.name === $("scenario").value);
    describe(s.name);
    drawKnobs(s.name, s.knobs);
    $("reset").click();  // a new scenario starts a new run, with its settings
  };
  $("defaults").onclick = () => {  // after a fork the sidebar holds branch B's settings
    const s = scenarios.find((x) => x.name === $("scenario").value);
    if (!s || !world.view) return;  // the page has not heard from the server yet
    drawKnobs(s.name, s.knobs);
    pending();
  };
  $("seed").addEventListener("keydown", (e) => { if (e.key === "Enter") $("reset").click(); });
  $("major").onchange = () => { world.majorOnly = $("major").checked; CPEC.drawAll(); };
})();
