// The playground's entry point: sign in, build the form from the capability map, keep the
// task list live from the account's event stream.

import { apiKey, call, setApiKey, stream } from "./api.js";
import { TaskForm } from "./form.js";
import { TaskList, rememberRequest } from "./tasks.js";

const $ = (sel) => document.querySelector(sel);
let stopStream = null;
let list = null;

function say(text, kind = "") {
  const status = $("#signin-status");
  status.textContent = text;
  status.className = kind;
}

async function signIn() {
  if (stopStream) stopStream();
  $("#tasks").replaceChildren();
  list.items.clear();
  if (!apiKey()) {
    say("Paste an API key to start (omnivideo keys create).");
    document.body.classList.remove("signed-in");
    return;
  }
  try {
    const tasks = await call("GET", "/v1/videos/omni-video?pageSize=30");
    for (const task of tasks.reverse()) list.upsert(task);
  } catch (error) {
    document.body.classList.remove("signed-in");
    if (error.status === 401) {
      say(`This key was refused (401): ${error.message}. Check it, or create one with "omnivideo keys create".`, "error");
    } else {
      say(`Could not reach the server: ${error.message}`, "error");
    }
    return;
  }
  document.body.classList.add("signed-in");
  $("#signout").hidden = false;
  say("Signed in; the key stays in this browser.", "ok");
  stopStream = stream(
    "/v1/omnivideo/events",
    (_name, task) => list.upsert(task),
    (state) => ($("#stream-state").textContent = state),
  );
}

async function main() {
  const caps = await (await fetch("/v1/omnivideo/capabilities")).json();
  list = new TaskList($("#tasks"), {
    onAgain: (body, inputsLost) => form.load(body, inputsLost),
    onCurl: (text) => {
      $("#curl-text").textContent = text;
      $("#curl-dialog").showModal();
    },
  });
  const form = new TaskForm($("#task-form"), caps, {
    onSubmit: async (body, headers) => {
      const created = await call("POST", "/v1/videos/omni-video", body, headers);
      rememberRequest(created.task_id, body, headers);
      list.upsert({ ...created, task_info: {}, task_result: {} });
    },
    loadElements: async () => {
      const mine = await call("GET", "/v1/general/custom-elements?pageSize=100");
      const presets = await call("GET", "/v1/general/presets-elements?pageSize=100");
      return [...mine, ...presets];
    },
  });
  $("#signin").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("#api-key").value.trim());
    $("#api-key").value = "";
    signIn();
  });
  $("#signout").addEventListener("click", () => {
    setApiKey("");
    $("#signout").hidden = true;
    signIn();
  });
  await signIn();
  document.body.dataset.ready = "true";
}

main();
