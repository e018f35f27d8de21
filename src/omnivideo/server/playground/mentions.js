// `@` in a prompt offers the request's inputs and inserts Kling's reference tokens
// (<<<image_N>>>, <<<element_N>>>, <<<video_1>>>) in place of the typed `@word`.

/** The `@word` just before the caret, as [start, query], or null. */
export function mentionAt(text, caret) {
  const match = /(^|\s)@([\w-]*)$/.exec(text.slice(0, caret));
  return match ? [caret - match[2].length - 1, match[2].toLowerCase()] : null;
}

export function attachMentions(textarea, options) {
  const list = textarea.parentElement.querySelector(".mentions");
  let shown = [];
  let active = 0;

  function close() {
    list.hidden = true;
    shown = [];
  }

  function choose(index) {
    const at = mentionAt(textarea.value, textarea.selectionStart);
    if (!at || !shown[index]) return close();
    const [start] = at;
    const insert = shown[index].insert;
    textarea.setRangeText(insert, start, textarea.selectionStart, "end");
    textarea.dispatchEvent(new Event("input"));
    close();
    textarea.focus();
  }

  function render() {
    list.replaceChildren(
      ...shown.map((item, i) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(i === active));
        li.textContent = `${item.insert}  ${item.label}`;
        li.addEventListener("mousedown", (e) => {
          e.preventDefault();
          choose(i);
        });
        return li;
      }),
    );
    list.hidden = !shown.length;
  }

  textarea.addEventListener("input", () => {
    const at = mentionAt(textarea.value, textarea.selectionStart);
    if (!at) return close();
    const query = at[1];
    shown = options().filter((o) => !query || `${o.insert} ${o.label}`.toLowerCase().includes(query));
    active = 0;
    render();
  });
  textarea.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      render();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape") {
      close();
    }
  });
  textarea.addEventListener("blur", () => setTimeout(close, 100));
}
