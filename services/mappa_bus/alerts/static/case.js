// The case page: ask why, then read the case through the audited API. The session cookie says
// who is reading; a reader with several roles says which one they read in. The case is shown
// as sections and a timeline, built with textContent, never innerHTML.
"use strict";

(() => {
  const SECTIONS = ["management", "custody", "registration", "hospital", "housing",
    "safeguarding", "victims", "partners"];
  const label = (key) => {
    const words = key.replaceAll("_", " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  };
  const text = (value) => {
    if (value === null || value === undefined || value === "") return "not known";
    if (Array.isArray(value)) return value.length ? value.map(text).join(", ") : "none";
    if (typeof value === "object") {
      return Object.entries(value).map(([key, item]) => `${label(key)}: ${text(item)}`).join("; ");
    }
    return String(value);
  };
  const when = (iso) =>
    new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  const element = (tag, content, attributes = {}) => {
    const made = document.createElement(tag);
    if (content !== undefined) made.textContent = content;
    Object.entries(attributes).forEach(([name, value]) => made.setAttribute(name, value));
    return made;
  };
  const fields = (object, skip = []) => {
    const list = element("dl");
    for (const [key, value] of Object.entries(object)) {
      if (skip.includes(key)) continue;
      list.append(element("dt", label(key)), element("dd", text(value), { "data-field": key }));
    }
    return list;
  };
  const timeline = (entries) => {
    if (!entries.length) return element("p", "No events this role may see.");
    const table = element("table");
    table.append(element("caption", "Timeline: every event of the case this role may see, in the order it happened"));
    const head = element("tr");
    ["Happened", "Reached the bus", "Agency", "Event", "Details"].forEach((name) =>
      head.append(element("th", name, { scope: "col" })));
    const thead = element("thead");
    thead.append(head);
    table.append(thead);
    const rows = element("tbody");
    for (const entry of entries) {
      const row = element("tr");
      const event = entry.type.split(".").slice(-2, -1)[0] ?? entry.type; // ...police.<event>.v1
      [when(entry.time), when(entry.recorded_at), entry.agency, event, text(entry.data)].forEach((value) =>
        row.append(element("td", String(value))));
      rows.append(row);
    }
    table.append(rows);
    return table;
  };
  const show = (view, into) => {
    into.replaceChildren();
    into.append(fields(view, [...SECTIONS, "timeline", "withheld"]));
    if (view.withheld.length) {
      into.append(element("p", `Withheld from your role (${view.role}): ${view.withheld.join(", ")}.`,
        { class: "hint", id: "withheld" }));
    }
    for (const name of SECTIONS) {
      if (!view[name]) continue;
      const section = element("section", undefined, { "data-section": name });
      section.append(element("h3", label(name)), fields(view[name]));
      into.append(section);
    }
    into.append(element("h3", "Timeline"), timeline(view.timeline));
  };

  const caseId = decodeURIComponent(window.location.pathname.split("/").pop());
  const form = document.getElementById("reason-form");
  const reason = document.getElementById("reason");
  const problem = document.getElementById("problem");
  const section = document.getElementById("case");
  const view = document.getElementById("case-view");
  let session = null;

  document.getElementById("case-id").textContent = caseId;

  fetch("/session")
    .then((response) => response.json())
    .then((found) => {
      session = found;
      document.getElementById("user").textContent = found.user;
      document.getElementById("role").textContent = found.roles.join(", ");
      document.getElementById("min-reason").textContent = found.min_reason_length;
      reason.minLength = found.min_reason_length;
    })
    .catch(() => {
      problem.textContent = "Could not tell who is signed in; reload the page.";
    });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    if (session === null) {
      problem.textContent = "Could not tell who is signed in; reload the page.";
      return;
    }
    const headers = { "X-Mappa-Reason": reason.value.trim() };
    if (session.roles.length > 1) {
      headers["X-Mappa-Role"] = session.roles.includes("coordinator") ? "coordinator" : session.roles[0];
    }
    try {
      const response = await fetch(`/api/cases/${encodeURIComponent(caseId)}`, { headers });
      const answer = await response.json();
      if (!response.ok) {
        throw new Error(answer.detail || `refused (${response.status})`);
      }
      show(answer, view);
      section.hidden = false;
      section.querySelector("h2").focus();
    } catch (error) {
      // A header must be Latin-1: fetch refuses other characters before sending anything.
      problem.textContent = `The case could not be shown: ${error.message}`;
    }
  });
})();
