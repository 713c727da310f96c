// Two small behaviours: the upload page's drop zone (with DICOM tags read back for confirmation)
// and the polling that turns a queued report into a finished one without a manual reload.
"use strict";

function setupUpload(form) {
  const zone = document.getElementById("dropzone");
  const input = form.querySelector("input[type=file]");
  const list = document.getElementById("file-list");
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function showFiles() {
    list.replaceChildren(...Array.from(input.files).map((file) => {
      const item = document.createElement("li");
      item.textContent = `${file.name} (${Math.round(file.size / 1024)} KiB)`;
      return item;
    }));
  }

  async function readTags(file) {
    const body = new FormData();
    body.append("file", file);
    const response = await fetch(form.dataset.tagsUrl, {
      method: "POST", body, headers: { "X-CSRFToken": token },
    });
    const tags = await response.json();
    if (!response.ok || tags.source_format !== "DICOM") return;
    const fill = (name, value) => {
      const field = form.elements[name];
      if (value && field && !field.value) field.value = value;
    };
    fill("sex", tags.sex);
    fill("birth_date", tags.birth_date);
    fill("exam_date", tags.exam_date);
    if (tags.age_months != null && !tags.birth_date) {
      fill("chronological_age_months", tags.age_months.toFixed(1));
    }
    document.getElementById("tags-note").hidden = false;
  }

  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change"));
  });
  input.addEventListener("change", () => {
    showFiles();
    if (input.files.length) readTags(input.files[0]);
  });
}

function pollStudy(panel) {
  const tick = async () => {
    const response = await fetch(panel.dataset.pollUrl, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const study = await response.json();
      if (study.status !== panel.dataset.status) {
        window.location.reload();
        return;
      }
    }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1500);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (form) setupUpload(form);
  const panel = document.querySelector("[data-poll-url]");
  if (panel) pollStudy(panel);
  const table = document.querySelector("[data-poll-reload]");
  if (table) setTimeout(() => window.location.reload(), Number(table.dataset.pollReload));
});
