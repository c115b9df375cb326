// The console's only script: copy buttons, and focus on a form's error summary. Every page
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

document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary[tabindex]");
  if (summary) summary.focus();
});
