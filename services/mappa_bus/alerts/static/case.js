// The case page: ask why, then read the case through the audited API. The session cookie says
// who is reading; a reader with several roles says which one they read in.
"use strict";

(() => {
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
      view.textContent = JSON.stringify(answer, null, 2);
      section.hidden = false;
      section.querySelector("h2").focus();
    } catch (error) {
      // A header must be Latin-1: fetch refuses other characters before sending anything.
      problem.textContent = `The case could not be shown: ${error.message}`;
    }
  });
})();
