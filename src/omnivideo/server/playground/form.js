// The create form: fields limited by the server's capability map, inputs, @-mentions, shots,
// and validation errors shown next to the field they name.

import { attachMentions } from "./mentions.js";

const $ = (sel, root = document) => root.querySelector(sel);

function option(value, text = value) {
  const el = document.createElement("option");
  el.value = value;
  el.textContent = text;
  return el;
}

/** An <img> source for an image input: a URL as it is, Base64 as a data URL of its type. */
function previewOf(value) {
  if (/^(https?:|data:)/.test(value)) return value;
  const type = value.startsWith("/9j/") ? "image/jpeg" : "image/png";
  return `data:${type};base64,${value}`;
}

function fill(select, values, keep) {
  const before = keep ?? select.value;
  select.replaceChildren(...values.map((v) => option(String(v))));
  if (values.map(String).includes(String(before))) select.value = String(before);
}

function readAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

export class TaskForm {
  constructor(form, caps, { onSubmit, loadElements }) {
    this.form = form;
    this.caps = caps;
    this.onSubmit = onSubmit;
    this.loadElements = loadElements;
    this.images = []; // {data, name, type: "first_frame" | "end_frame" | "", preview}
    this.video = null; // {data?, url?}
    this.library = []; // elements of the account and presets
    this.chosen = []; // element ids, in element_list order
    this.shots = [];
    this.select = (name) => form.elements.namedItem(name);

    fill(this.select("model_name"), caps.models, "kling-v3-omni");
    fill(this.select("mode"), caps.modes, "std");
    fill(this.select("aspect_ratio"), caps.aspect_ratios, "16:9");
    for (const name of ["model_name", "mode"]) {
      this.select(name).addEventListener("change", () => this.refresh());
    }
    $("#multi-shot").addEventListener("change", () => this.toggleShots());
    this.select("duration").addEventListener("change", () => this.renderShotSum());
    $("#add-shot").addEventListener("click", () => this.addShot());
    this.setupImages();
    this.setupVideo();
    $("#elements-load").addEventListener("click", () => this.showLibrary());
    attachMentions($("#prompt"), () => this.mentionOptions());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.refresh();
  }

  capability() {
    const model = this.select("model_name").value;
    const mode = this.select("mode").value;
    return this.caps.capabilities.find((c) => c.model_name === model && c.mode === mode);
  }

  allowedDurations(cap) {
    const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
    if (this.video) return range(cap.min_duration_s, cap.max_duration_with_video_s);
    const onlyFirstFrame = this.images.every((i) => i.type === "first_frame");
    if (cap.fixed_durations_s && onlyFirstFrame && !this.chosen.length) {
      return cap.fixed_durations_s;
    }
    return range(cap.min_duration_s, cap.max_duration_s);
  }

  /** Re-limit every field to what the chosen model and mode accept. */
  refresh() {
    const cap = this.capability();
    fill(this.select("duration"), this.allowedDurations(cap), this.select("duration").value || 5);
    const sound = this.select("sound");
    sound.disabled = !cap.sound || Boolean(this.video);
    if (sound.disabled) sound.checked = false;
    const multi = $("#multi-shot");
    multi.disabled = !cap.multi_shot;
    if (multi.disabled && multi.checked) {
      multi.checked = false;
      this.toggleShots();
    }
    $("#add-shot").disabled = this.shots.length >= cap.max_shots;
    $("#capability-hint").textContent =
      `${cap.model_name} ${cap.mode}: ${cap.resolution}p, ` +
      (cap.fixed_durations_s ? `${cap.fixed_durations_s.join(" or ")} s for text or a first frame, ` : "") +
      `${cap.min_duration_s}-${cap.max_duration_s} s` +
      (cap.multi_shot ? `, up to ${cap.max_shots} shots` : ", no multi-shot") +
      (cap.sound ? ", sound" : ", no sound");
    this.renderShotSum();
  }

  // -- multi-shot ------------------------------------------------------------------------

  toggleShots() {
    const on = $("#multi-shot").checked;
    $("#shots-box").hidden = !on;
    $("#prompt-box").hidden = on;
    if (on && !this.shots.length) {
      this.addShot();
      this.addShot();
    }
    this.renderShotSum();
  }

  addShot(prompt = "", duration = 1) {
    this.shots.push({ prompt, duration });
    this.renderShots();
  }

  renderShots() {
    const list = $("#shots");
    list.replaceChildren();
    this.shots.forEach((shot, i) => {
      const item = document.createElement("li");
      item.className = "shot";
      item.innerHTML = `
        <div class="mention-wrap"><textarea rows="2" placeholder="Shot ${i + 1}"
          data-field="multi_prompt[${i}].prompt"></textarea><ul class="mentions" hidden></ul></div>
        <label>s <input type="number" min="1" step="1" data-field="multi_prompt[${i}].duration"></label>
        <button type="button" class="remove" aria-label="Remove shot ${i + 1}">×</button>`;
      const text = $("textarea", item);
      const seconds = $("input", item);
      text.value = shot.prompt;
      seconds.value = shot.duration;
      text.addEventListener("input", () => (shot.prompt = text.value));
      seconds.addEventListener("input", () => {
        shot.duration = Number(seconds.value);
        this.renderShotSum();
      });
      $("button", item).addEventListener("click", () => {
        this.shots.splice(i, 1);
        this.renderShots();
      });
      attachMentions(text, () => this.mentionOptions());
      list.append(item);
    });
    $("#add-shot").disabled = this.shots.length >= this.capability().max_shots;
    this.renderShotSum();
  }

  renderShotSum() {
    const total = Number(this.select("duration").value);
    const sum = this.shots.reduce((acc, s) => acc + (Number(s.duration) || 0), 0);
    const status = $("#shots-sum");
    status.textContent = `${this.shots.map((s) => s.duration || 0).join(" + ")} = ${sum} of ${total} s`;
    status.className = sum === total ? "ok" : "bad";
  }

  // -- inputs ----------------------------------------------------------------------------

  setupImages() {
    const drop = $("#drop");
    const add = async (files) => {
      for (const file of files) {
        if (!file.type.startsWith("image/")) continue;
        const data = await readAsBase64(file);
        const type = this.images.some((i) => i.type === "first_frame") ? "" : "first_frame";
        this.images.push({ data, name: file.name, type, preview: URL.createObjectURL(file) });
      }
      this.renderImages();
    };
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      add(e.dataTransfer.files);
    });
    $("#image-files").addEventListener("change", (e) => add(e.target.files));
  }

  renderImages() {
    const list = $("#images");
    list.replaceChildren();
    this.images.forEach((image, i) => {
      const item = document.createElement("li");
      item.innerHTML = `<img alt=""><span class="tag">&lt;&lt;&lt;image_${i + 1}&gt;&gt;&gt;</span>
        <select aria-label="Role of image ${i + 1}" data-field="image_list[${i}].type">
          <option value="first_frame">first frame</option><option value="end_frame">end frame</option>
          <option value="">reference</option></select>
        <button type="button" class="remove" aria-label="Remove image ${i + 1}">×</button>`;
      $("img", item).src = image.preview;
      const role = $("select", item);
      role.value = image.type;
      role.addEventListener("change", () => {
        image.type = role.value;
        this.refresh();
      });
      $("button", item).addEventListener("click", () => {
        this.images.splice(i, 1);
        this.renderImages();
      });
      list.append(item);
    });
    this.refresh();
  }

  setupVideo() {
    $("#video-file").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      this.video = file ? { data: await readAsBase64(file), name: file.name } : null;
      this.refresh();
    });
    $("#video-url").addEventListener("change", (e) => {
      this.video = e.target.value ? { url: e.target.value } : null;
      this.refresh();
    });
    $("#video-clear").addEventListener("click", () => {
      this.video = null;
      $("#video-file").value = "";
      $("#video-url").value = "";
      this.refresh();
    });
  }

  async showLibrary() {
    this.library = await this.loadElements();
    const list = $("#elements");
    list.replaceChildren();
    for (const element of this.library) {
      const item = document.createElement("li");
      item.innerHTML = `<label><input type="checkbox"><img alt=""><span></span></label>`;
      $("img", item).src = element.element_frontal_image;
      $("span", item).textContent = element.element_name;
      const box = $("input", item);
      box.checked = this.chosen.includes(element.element_id);
      box.addEventListener("change", () => {
        this.chosen = box.checked
          ? [...this.chosen, element.element_id]
          : this.chosen.filter((id) => id !== element.element_id);
        this.refresh();
      });
      list.append(item);
    }
    if (!this.library.length) list.textContent = "No elements in this account yet.";
  }

  mentionOptions() {
    const options = this.images.map((image, i) => ({
      insert: `<<<image_${i + 1}>>>`,
      label: `image ${i + 1} · ${image.type || "reference"} · ${image.name}`,
    }));
    this.chosen.forEach((id, i) => {
      const element = this.library.find((e) => e.element_id === id);
      options.push({ insert: `<<<element_${i + 1}>>>`, label: `element ${i + 1} · ${element?.element_name ?? id}` });
    });
    if (this.video) options.push({ insert: "<<<video_1>>>", label: "video 1" });
    return options;
  }

  // -- the request -----------------------------------------------------------------------

  body() {
    const value = (name) => this.select(name).value;
    const body = {
      model_name: value("model_name"),
      mode: value("mode"),
      aspect_ratio: value("aspect_ratio"),
      duration: value("duration"),
      sound: this.select("sound").checked ? "on" : "off",
    };
    if ($("#multi-shot").checked) {
      body.multi_shot = true;
      body.shot_type = "customize";
      body.multi_prompt = this.shots.map((s, i) => ({ index: i + 1, prompt: s.prompt, duration: String(s.duration) }));
    } else {
      body.prompt = $("#prompt").value;
    }
    if (this.images.length) {
      body.image_list = this.images.map((i) => (i.type ? { image_url: i.data, type: i.type } : { image_url: i.data }));
    }
    if (this.chosen.length) body.element_list = this.chosen.map((id) => ({ element_id: id }));
    if (this.video) {
      body.video_list = [{
        video_url: this.video.data ?? this.video.url,
        refer_type: $("#video-refer").value,
        keep_original_sound: $("#keep-sound").checked ? "yes" : "no",
      }];
    }
    for (const name of ["callback_url", "external_task_id"]) {
      if (value(name).trim()) body[name] = value(name).trim();
    }
    return body;
  }

  extraHeaders() {
    const simulate = this.select("simulate").value.trim();
    return simulate ? { "X-Omnivideo-Simulate": simulate } : {};
  }

  /** Fill the form from a request body (for "again with changes"), its images, elements and
   * video included, so the prompt's <<<image_N>>> still point at them. ``inputsLost``: the
   * body's Base64 inputs were shortened (only a page reload loses them); the form says so. */
  load(body, inputsLost = false) {
    for (const name of ["model_name", "mode", "aspect_ratio"]) {
      if (body[name]) this.select(name).value = body[name];
    }
    this.refresh();
    if (body.duration) this.select("duration").value = String(body.duration);
    this.select("sound").checked = body.sound === "on";
    $("#prompt").value = body.prompt ?? "";
    $("#multi-shot").checked = Boolean(body.multi_shot);
    this.shots = (body.multi_prompt ?? []).map((s) => ({ prompt: s.prompt, duration: Number(s.duration) }));
    this.renderShots();
    this.toggleShots();
    this.select("callback_url").value = body.callback_url ?? "";
    this.select("external_task_id").value = "";
    this.clearErrors();
    if (inputsLost) {
      this.images = [];
      this.video = null;
      const note = $("#form-error");
      note.textContent = "The images and video of that task are no longer in this browser (the page was reloaded): add them again before creating.";
      note.hidden = false;
    } else {
      this.images = (body.image_list ?? []).map((item, i) => ({
        data: item.image_url,
        name: `image ${i + 1} (from task)`,
        type: item.type ?? "",
        preview: previewOf(item.image_url),
      }));
      const video = (body.video_list ?? [])[0];
      this.video = video ? (/^https?:/.test(video.video_url) ? { url: video.video_url } : { data: video.video_url, name: "video (from task)" }) : null;
      if (video) {
        $("#video-refer").value = video.refer_type ?? "base";
        $("#keep-sound").checked = video.keep_original_sound === "yes";
      }
    }
    this.chosen = (body.element_list ?? []).map((e) => e.element_id);
    this.renderImages();
    this.form.scrollIntoView({ behavior: "smooth" });
  }

  clearErrors() {
    for (const el of this.form.querySelectorAll(".field-error")) el.remove();
    for (const el of this.form.querySelectorAll(".invalid")) el.classList.remove("invalid");
    $("#form-error").hidden = true;
  }

  /** Put a server error next to the field its message names ("field: rule"). */
  showError(error) {
    const path = error.field;
    const base = path.split(/[[.]/)[0];
    const target =
      (path && this.form.querySelector(`[data-field="${CSS.escape(path)}"]`)) ||
      (base && this.form.querySelector(`[data-field="${CSS.escape(base)}"]`));
    if (!target || target.closest("[hidden]")) {
      const general = $("#form-error");
      general.textContent = error.message;
      general.hidden = false;
      return;
    }
    const note = document.createElement("p");
    note.className = "field-error error";
    note.setAttribute("role", "alert");
    note.dataset.for = path;
    note.textContent = error.message;
    target.classList.add("invalid");
    const holder = target.matches("fieldset, #shots-box") ? target : target.closest("label, .field, li") ?? target;
    holder.after(note);
  }

  async submit() {
    this.clearErrors();
    const button = $("#create-button");
    button.disabled = true;
    try {
      await this.onSubmit(this.body(), this.extraHeaders());
    } catch (error) {
      if (error.message) this.showError(error);
      else throw error;
    } finally {
      button.disabled = false;
    }
  }
}
