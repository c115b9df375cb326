// The console's only script: copy buttons, focus on a form's error summary, and keyboard access
// to tables that scroll sideways. Every page
// works without it (the values can be selected and copied by hand).
"use strict";

function copyText(target) {
  return "value" in target && target.tagName !== "PRE" ? target.value : target.textContent;
}

async function copy(button) {
  const id = button.getAttribute("data-copy");
  const target = document.getElementById(id);
  const status = document.querySelector('[data-copy-status="' + id + '"]');
  if (!target) return;
  const text = copyText(target);
  let done = false;
  try {
    await navigator.clipboard.writeText(text);
    done = true;
  } catch (_error) {
    // No clipboard API (plain http on another host): select it so that Ctrl+C copies it.
    if (typeof target.select === "function") target.select();
  }
  if (status) status.textContent = done ? "Copied." : "Selected: press Ctrl+C (Cmd+C) to copy.";
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (button) copy(button);
});

// A table wider than the screen scrolls in its box: make that box reachable by keyboard (and
// named after its table) only while it does scroll, so a table that fits adds no tab stop.
function markScrollers() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth;
    const table = wrap.querySelector("table");
    const heading = table && document.getElementById(table.getAttribute("aria-labelledby") || "");
    if (scrolls) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "table, scrolls sideways");
    } else if (wrap.getAttribute("role") === "region") {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  markScrollers();
  const summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
});
window.addEventListener("resize", markScrollers);
