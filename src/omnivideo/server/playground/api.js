// Talking to omnivideo's Kling face with the key kept in this browser (localStorage) only.

const KEY = "omnivideo.apiKey";

export function apiKey() {
  return localStorage.getItem(KEY) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

/** An error answer of the Kling face: `message` is "field: rule" for validation errors. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The field path a validation message names ("image_list[0].type"), or "". */
  get field() {
    const match = /^([A-Za-z_][\w.[\]]*):\s/.exec(this.message);
    return match ? match[1] : "";
  }
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${apiKey()}`, ...extra };
}

export async function call(method, path, body, extraHeaders = {}) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    throw new ApiError(response.status, 0, `${response.status} ${response.statusText}`);
  }
  if (!response.ok || (typeof payload.code === "number" && payload.code !== 0)) {
    throw new ApiError(response.status, payload.code, payload.message || response.statusText);
  }
  return payload.data;
}

/** The exact request as a curl command line (the key shown as a variable, not in clear). */
export function curl(method, path, body, extraHeaders = {}) {
  const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;
  const parts = [`curl -X ${method} ${quote(location.origin + path)}`,
    `-H 'Authorization: Bearer '"$OMNIVIDEO_API_KEY"`];
  for (const [name, value] of Object.entries(extraHeaders)) {
    parts.push(`-H ${quote(`${name}: ${value}`)}`);
  }
  if (body !== undefined) {
    parts.push(`-H 'Content-Type: application/json'`, `-d ${quote(JSON.stringify(body))}`);
  }
  return parts.join(" \\\n  ");
}

/**
 * Read a server-sent event stream with fetch (EventSource cannot send an Authorization
 * header). Calls onEvent(name, data) per event; reconnects after drops until stopped.
 * Returns a function that stops it.
 */
export function stream(path, onEvent, onState = () => {}) {
  const controller = new AbortController();
  let stopped = false;

  async function once() {
    const response = await fetch(path, { headers: headers(), signal: controller.signal });
    if (!response.ok) throw new ApiError(response.status, 0, `stream: ${response.status}`);
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (stopped) return;
        onState(error.status === 401 ? "refused" : "reconnecting");
        if (error.status === 401) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return () => {
    stopped = true;
    controller.abort();
  };
}
