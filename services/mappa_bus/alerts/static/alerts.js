// The live alerts page: rows come from /events (server-sent events); every row is built with
// textContent, never innerHTML, so nothing in an alert can become markup.
"use strict";

(() => {
  const body = document.getElementById("alerts-body");
  const status = document.getElementById("feed-status");
  const announcer = document.getElementById("announcer");
  const empty = document.getElementById("no-alerts");
  const counts = document.getElementById("counts");
  const older = document.getElementById("older");
  const olderCount = document.getElementById("older-count");
  const forgotten = document.getElementById("forgotten");
  const filters = {
    severity: document.getElementById("filter-severity"),
    rule: document.getElementById("filter-rule"),
    area: document.getElementById("filter-area"),
    acknowledged: document.getElementById("filter-acknowledged"),
    overdueActions: document.getElementById("filter-overdue-actions"),
  };
  const shown = new Map(); // alert id -> its row's data as last shown
  const STEP = 100; // rows shown at first, and more each time older ones are asked for
  let limit = STEP;
  let caughtUp = false; // after the board sent on connecting: only later rows are announced
  let refreshing = false;

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

  // Unacknowledged urgent alerts first (someone must act), then newest first.
  const pinned = (row) => row.severity === "urgent" && !row.acknowledged_by;

  const render = (row) => {
    const tr = document.createElement("tr");
    tr.id = `alert-${row.id}`;
    tr.dataset.alertId = row.id;
    tr.dataset.time = row.time;
    tr.dataset.severity = row.severity;
    tr.dataset.rule = row.rule;
    tr.dataset.area = row.area_name;
    tr.dataset.acknowledged = row.acknowledged_by ? "yes" : "no";
    tr.dataset.pinned = pinned(row) ? "yes" : "no";
    const severity = cell(row.severity);
    severity.className = "severity";
    tr.append(
      row.happened_at ? timeCell(row.happened_at) : cell("not known"),
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

  const before = (a, b) =>
    a.dataset.pinned !== b.dataset.pinned
      ? a.dataset.pinned === "yes"
      : Date.parse(a.dataset.time) > Date.parse(b.dataset.time);

  const place = (tr) => {
    const next = [...body.rows].find((other) => before(tr, other));
    body.insertBefore(tr, next ?? null);
  };

  const offer = (select, value) => {
    if (![...select.options].some((option) => option.value === value)) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.append(option);
    }
  };

  const matches = (tr) =>
    (!filters.severity.value || tr.dataset.severity === filters.severity.value) &&
    (!filters.rule.value || tr.dataset.rule === filters.rule.value) &&
    (!filters.area.value || tr.dataset.area === filters.area.value) &&
    (!filters.acknowledged.value || tr.dataset.acknowledged === filters.acknowledged.value) &&
    (!filters.overdueActions.checked || tr.dataset.rule === filters.overdueActions.value);

  // Counts, filters and the rows shown, at most once per frame however many rows arrive.
  const refresh = () => {
    refreshing = false;
    const tally = { urgent: 0, high: 0, routine: 0 };
    let waiting = 0;
    for (const row of shown.values()) {
      tally[row.severity] = (tally[row.severity] ?? 0) + 1;
      if (pinned(row)) waiting += 1;
    }
    counts.textContent = shown.size
      ? `${tally.urgent} urgent (${waiting} not acknowledged), ${tally.high} high, ${tally.routine} routine`
      : "No alerts yet.";
    let matching = 0;
    for (const tr of body.rows) {
      const wanted = matches(tr);
      if (wanted) matching += 1;
      tr.hidden = !wanted || matching > limit;
    }
    const hidden = Math.max(0, matching - limit);
    older.hidden = hidden === 0;
    olderCount.textContent = `${hidden} older not shown.`;
    empty.hidden = body.rows.length > 0;
  };

  const later = () => {
    if (!refreshing) {
      refreshing = true;
      requestAnimationFrame(refresh);
    }
  };

  const oldestShown = () => {
    const visible = [...body.rows].filter((tr) => !tr.hidden && tr.dataset.pinned === "no");
    return visible.length ? visible[visible.length - 1].dataset.time : null;
  };

  // The next page comes from /alerts?before=: rows the stream has not sent this page yet
  // (it reconnected, say) are shown too.
  document.getElementById("show-older").addEventListener("click", async () => {
    const from = oldestShown();
    limit += STEP;
    if (from) {
      const query = new URLSearchParams({ before: from, limit: String(STEP) });
      const response = await fetch(`/alerts?${query}`);
      if (response.ok) (await response.json()).forEach(upsert);
    }
    later();
  });
  Object.values(filters).forEach((select) => select.addEventListener("change", later));

  const upsert = (row) => {
    const before = shown.get(row.id);
    if (before && before.acknowledged_by === row.acknowledged_by) {
      return; // sent again (on reconnecting): nothing changed
    }
    shown.set(row.id, row);
    offer(filters.rule, row.rule);
    offer(filters.area, row.area_name);
    const tr = render(row);
    const existing = document.getElementById(tr.id);
    if (existing) {
      // Acknowledged: it may leave the pinned rows, so it is placed again.
      existing.remove();
      place(tr);
    } else {
      place(tr);
      if (caughtUp) {
        tr.classList.add("new");
        announcer.textContent = `New ${row.severity} alert: ${row.rule}, case ${row.case_id}`;
      }
    }
    later();
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
  // The event that raised an alert was withdrawn by its agency: the alert goes too.
  source.addEventListener("withdrawn", (event) => {
    const gone = JSON.parse(event.data);
    const row = shown.get(gone.id);
    shown.delete(gone.id);
    document.getElementById(`alert-${gone.id}`)?.remove();
    if (row) {
      announcer.textContent = `Alert withdrawn (${gone.reason}): ${row.rule}, case ${row.case_id}`;
    }
    later();
  });
  source.addEventListener("status", (event) => {
    const state = JSON.parse(event.data);
    const feed = state.feed;
    caughtUp = true;
    forgotten.hidden = !state.forgotten;
    forgotten.textContent = `This page keeps the newest ${state.kept} alerts and every unacknowledged urgent one; ${state.forgotten} older ones are on the bus only: mappa alerts tail --from-beginning lists them.`;
    setStatus(feed, feedText[feed] ?? feed);
  });
  source.addEventListener("error", () => {
    caughtUp = false;
    setStatus("reconnecting", "reconnecting…");
  });
})();
