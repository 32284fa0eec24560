// The live alerts page: rows come from /events (server-sent events); every row is built with
// textContent, never innerHTML, so nothing in an alert can become markup.
"use strict";

(() => {
  const body = document.getElementById("alerts-body");
  const status = document.getElementById("feed-status");
  const announcer = document.getElementById("announcer");
  const empty = document.getElementById("no-alerts");
  const shown = new Map(); // alert id -> its row's data as last shown
  let caughtUp = false; // after the board sent on connecting: only later rows are announced

  const when = (iso) =>
    new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

  const cell = (text) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  };

  const timeCell = (iso) => {
    const td = document.createElement("td");
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = when(iso);
    td.append(time);
    return td;
  };

  const caseCell = (caseId) => {
    const td = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/cases/${encodeURIComponent(caseId)}`;
    link.textContent = caseId;
    link.className = "case-link";
    td.append(link);
    return td;
  };

  const acknowledge = async (row, button, note) => {
    button.disabled = true;
    button.textContent = "Acknowledging…";
    note.textContent = "";
    try {
      const response = await fetch(`/alerts/${encodeURIComponent(row.id)}/acknowledge`, {
        method: "POST",
        headers: { "X-Requested-With": "mappa-alerts" },
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(problem.detail || `refused (${response.status})`);
      }
      // The row changes when the acknowledgement comes back through the stream.
      button.textContent = "Sent, waiting for the bus…";
    } catch (error) {
      button.disabled = false;
      button.textContent = "Acknowledge";
      note.textContent = `Not acknowledged: ${error.message}`;
    }
  };

  const ackCell = (row) => {
    const td = document.createElement("td");
    td.className = "ack";
    if (row.acknowledged_by) {
      td.textContent = `Acknowledged by ${row.acknowledged_by} at ${when(row.acknowledged_at)}`;
      return td;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Acknowledge";
    button.setAttribute("aria-label", `Acknowledge the ${row.rule} alert for case ${row.case_id}`);
    const note = document.createElement("span");
    note.className = "error";
    note.setAttribute("role", "alert");
    button.addEventListener("click", () => acknowledge(row, button, note));
    td.append(button, note);
    return td;
  };

  const render = (row) => {
    const tr = document.createElement("tr");
    tr.id = `alert-${row.id}`;
    tr.dataset.alertId = row.id;
    tr.dataset.time = row.time;
    tr.dataset.severity = row.severity;
    tr.dataset.acknowledged = row.acknowledged_by ? "yes" : "no";
    const severity = cell(row.severity);
    severity.className = "severity";
    tr.append(
      timeCell(row.time),
      severity,
      cell(row.area_name),
      cell(row.level ?? "unknown"),
      cell(row.category ?? "unknown"),
      cell(row.rule),
      caseCell(row.case_id),
      cell(row.summary),
      ackCell(row),
    );
    return tr;
  };

  const place = (tr) => {
    // Newest first: before the first row raised earlier than this one.
    const later = [...body.rows].find((other) => Date.parse(other.dataset.time) < Date.parse(tr.dataset.time));
    body.insertBefore(tr, later ?? null);
  };

  const upsert = (row) => {
    const before = shown.get(row.id);
    if (before && before.acknowledged_by === row.acknowledged_by) {
      return; // sent again (on reconnecting): nothing changed
    }
    shown.set(row.id, row);
    const tr = render(row);
    const existing = document.getElementById(tr.id);
    if (existing) {
      existing.replaceWith(tr);
    } else {
      place(tr);
      if (caughtUp) {
        tr.classList.add("new");
        announcer.textContent = `New ${row.severity} alert: ${row.rule}, case ${row.case_id}`;
      }
    }
    empty.hidden = body.rows.length > 0;
  };

  const setStatus = (state, text) => {
    status.dataset.feed = state;
    status.textContent = text;
  };

  const feedText = {
    live: "live",
    starting: "starting…",
    interrupted: "interrupted: the bus does not answer, retrying",
  };

  fetch("/session")
    .then((response) => response.json())
    .then((session) => {
      document.getElementById("user").textContent = session.user;
      document.getElementById("role").textContent = session.roles.join(", ");
      document.getElementById("areas").textContent = session.areas?.join(", ") ?? "every area";
    })
    .catch(() => {});

  const source = new EventSource("/events");
  source.addEventListener("alert", (event) => upsert(JSON.parse(event.data)));
  source.addEventListener("status", (event) => {
    const feed = JSON.parse(event.data).feed;
    caughtUp = true;
    setStatus(feed, feedText[feed] ?? feed);
  });
  source.addEventListener("error", () => {
    caughtUp = false;
    setStatus("reconnecting", "reconnecting…");
  });
})();
