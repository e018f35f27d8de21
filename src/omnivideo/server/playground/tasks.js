// The task list: live status and progress from the account's event stream, a player,
// download, cancel, "open as curl" and "again with changes".

import { call, curl } from "./api.js";

const SENT = "omnivideo.sent"; // task_id -> {body, headers} of tasks created in this browser

function sentRequests() {
  try {
    return JSON.parse(localStorage.getItem(SENT) || "{}");
  } catch {
    return {};
  }
}

// The whole bodies (Base64 inputs included) of the tasks created since the page loaded: too
// big for localStorage, needed whole by "open as curl" and "again with changes".
const FULL = new Map();

export function rememberRequest(taskId, body, headers) {
  FULL.set(taskId, body);
  const all = sentRequests();
  // Base64 inputs would fill localStorage: keep them out, the rest is enough to show the task.
  const slim = JSON.parse(JSON.stringify(body), (key, value) =>
    typeof value === "string" && value.length > 2048 ? `${value.slice(0, 16)}…(${value.length} chars)` : value);
  all[taskId] = { body: slim, full: JSON.stringify(body).length < 200_000 ? body : null, headers };
  localStorage.setItem(SENT, JSON.stringify(all));
}

/** The body as it was sent, whole; null when only its shortened copy is left (a reload). */
function fullRequest(taskId) {
  return FULL.get(taskId) ?? sentRequests()[taskId]?.full ?? null;
}

export class TaskList {
  constructor(root, { onAgain, onCurl }) {
    this.root = root;
    this.onAgain = onAgain;
    this.onCurl = onCurl;
    this.items = new Map();
  }

  /** Show or update a task (a Kling task object, from a query or an event). */
  upsert(task) {
    let item = this.items.get(task.task_id);
    if (!item) {
      item = this.create(task.task_id);
      this.items.set(task.task_id, item);
      const newer = [...this.root.children].find((li) => li.dataset.created < task.created_at);
      this.root.insertBefore(item, newer ?? null);
      item.dataset.created = task.created_at;
    }
    this.render(item, task);
  }

  create(taskId) {
    const item = document.createElement("li");
    item.className = "task";
    item.dataset.taskId = taskId;
    item.innerHTML = `
      <div class="task-head"><code class="id"></code><span class="status"></span>
        <span class="percent"></span></div>
      <p class="prompt"></p>
      <progress max="100" value="0"></progress>
      <p class="message"></p>
      <div class="media"></div>
      <div class="actions">
        <button type="button" class="cancel">Cancel</button>
        <a class="download" hidden>Download</a>
        <button type="button" class="curl">Open as curl</button>
        <button type="button" class="again">Again with changes</button>
      </div>`;
    item.querySelector(".id").textContent = taskId;
    item.querySelector(".cancel").addEventListener("click", async () => {
      const task = await call("POST", `/v1/videos/omni-video/${taskId}/cancel`);
      this.upsert(task);
    });
    item.querySelector(".curl").addEventListener("click", () => this.onCurl(this.curlOf(taskId)));
    item.querySelector(".again").addEventListener("click", () => {
      const sent = sentRequests()[taskId];
      // Without the whole body the inputs cannot come back: the form says so, never resends
      // a prompt whose <<<image_N>>> point at nothing.
      if (sent) this.onAgain(fullRequest(taskId) ?? sent.body, fullRequest(taskId) === null);
    });
    return item;
  }

  curlOf(taskId) {
    const sent = sentRequests()[taskId];
    const full = fullRequest(taskId);
    // Only the whole body makes a command that runs: a shortened Base64 input never shows.
    if (sent && full) return curl("POST", "/v1/videos/omni-video", full, sent.headers);
    return curl("GET", `/v1/videos/omni-video/${taskId}`);
  }

  render(item, task) {
    const status = task.task_status;
    const done = status === "succeed" || status === "failed";
    const percent = status === "succeed" ? 100 : (task.task_info?.progress ?? 0);
    item.dataset.status = status;
    item.querySelector(".status").textContent = status;
    item.querySelector(".status").className = `status ${status}`;
    item.querySelector(".percent").textContent = done ? "" : `${percent}%`;
    item.querySelector("progress").value = percent;
    item.querySelector("progress").hidden = done;
    item.querySelector(".message").textContent = task.task_status_msg || "";
    item.querySelector(".cancel").hidden = done;
    const sent = sentRequests()[task.task_id];
    item.querySelector(".again").hidden = !sent;
    const body = sent?.body ?? {};
    item.querySelector(".prompt").textContent =
      body.prompt ?? (body.multi_prompt ?? []).map((s) => `${s.prompt} (${s.duration} s)`).join(" · ");
    const video = task.task_result?.videos?.[0];
    const media = item.querySelector(".media");
    const download = item.querySelector(".download");
    if (video && !media.querySelector("video")) {
      const player = document.createElement("video");
      player.controls = true;
      player.preload = "auto";
      player.src = video.url;
      player.dataset.duration = video.duration;
      media.append(player);
      download.href = video.url;
      download.download = `${task.task_id}.mp4`;
      download.hidden = false;
    }
  }
}
