// Small behaviours: the upload page's drop zone (with DICOM tags read back for confirmation),
// the polling that turns a queued report into a finished one without a manual reload, and the
// reading page's zoomable images and keyboard shortcuts.
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

function setupZoom(figure) {
  // Scroll or +/- zooms about the pointer (or the centre), dragging moves, 0 resets.
  const image = figure.querySelector("img");
  if (!image) return;
  let scale = 1, x = 0, y = 0, drag = null;
  const apply = () => {
    figure.classList.toggle("zoomed", scale > 1);
    image.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
  };
  const zoom = (factor, cx, cy) => {
    const next = Math.min(8, Math.max(1, scale * factor));
    x = cx - (cx - x) * (next / scale);
    y = cy - (cy - y) * (next / scale);
    scale = next;
    if (scale === 1) { x = 0; y = 0; }
    apply();
  };
  figure.zoomBy = (factor) => zoom(factor, image.clientWidth / 2, image.clientHeight / 2);
  figure.zoomReset = () => { scale = 1; x = 0; y = 0; apply(); };
  image.style.transformOrigin = "0 0";
  figure.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = image.parentElement.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.25 : 0.8, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  image.addEventListener("pointerdown", (event) => {
    drag = { px: event.clientX - x, py: event.clientY - y };
    image.setPointerCapture(event.pointerId);
  });
  image.addEventListener("pointermove", (event) => {
    if (!drag || scale === 1) return;
    x = event.clientX - drag.px;
    y = event.clientY - drag.py;
    apply();
  });
  image.addEventListener("pointerup", () => { drag = null; });
  image.addEventListener("dblclick", figure.zoomReset);
}

function setupConfirmation() {
  // An estimate that needs a second look (flagged study, or outside the other path's interval)
  // is not signed by one click or key: the first press points at the concerns and the box to
  // tick; the server refuses it unticked too.
  const box = document.getElementById("id_confirm");
  if (!box) return;
  const panel = document.getElementById("confirm-panel");
  document.querySelectorAll("button[data-needs-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (box.checked) return;
      event.preventDefault();
      panel.classList.add("attention");
      panel.scrollIntoView({ block: "nearest" });
      box.focus();
    });
  });
}

function setupReadingKeys() {
  // One key per action, ignored while typing in a field: 1/2 sign an estimate (and go on),
  // y ticks the second look, c puts the cursor in the correction, n/p move along the worklist,
  // +/-/0 zoom both images.
  const figures = Array.from(document.querySelectorAll("figure.zoom"));
  const confirmBox = document.getElementById("id_confirm");
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input:not([type=checkbox]):not([type=radio]), textarea, select")) return;
    const target = document.querySelector(`[data-key="${event.key}"]`);
    if (target) {
      event.preventDefault();
      target.click();
    } else if (event.key === "y" && confirmBox) {
      event.preventDefault();
      confirmBox.checked = !confirmBox.checked;
    } else if (event.key === "c") {
      event.preventDefault();
      document.getElementById("id_corrected_age_months").focus();
    } else if (event.key === "+" || event.key === "=") {
      figures.forEach((figure) => figure.zoomBy && figure.zoomBy(1.25));
    } else if (event.key === "-") {
      figures.forEach((figure) => figure.zoomBy && figure.zoomBy(0.8));
    } else if (event.key === "0") {
      figures.forEach((figure) => figure.zoomReset && figure.zoomReset());
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());  // no inline handler: CSP
  });
  document.querySelectorAll("figure.zoom").forEach(setupZoom);
  if (document.getElementById("reading-form")) setupReadingKeys();
  setupConfirmation();
  const form = document.getElementById("upload-form");
  if (form) setupUpload(form);
  const panel = document.querySelector("[data-poll-url]");
  if (panel) pollStudy(panel);
  const table = document.querySelector("[data-poll-reload]");
  if (table) setTimeout(() => window.location.reload(), Number(table.dataset.pollReload));
});
