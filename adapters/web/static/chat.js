// The portal's web chat panel: posts what the seller types or presses to /web/chat/messages
// and shows the chat's lines from the server-sent events of /web/chat/events. The browser's
// EventSource reconnects by itself and sends Last-Event-ID, so a panel that was away gets
// what it missed. A post that fails for a passing reason is sent again with the same id: the
// server processes each id once.
(function () {
  "use strict";
  var panel = document.getElementById("chat");
  if (!panel || !window.fetch || !window.EventSource) { return; }
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-text");
  var state = document.getElementById("chat-state");
  var csrf = panel.getAttribute("data-csrf");
  // The page's language is the seller's chosen one; the server answers a refusal in it.
  var language = document.documentElement.lang || "en";
  var box = document.getElementById("chat-box");
  var files = document.getElementById("chat-files");
  var chosen = document.getElementById("chat-chosen");
  var MAX_FILES = 5;      // adapters/web/uploads.py
  var seen = {};          // line id -> its element
  var pending = {};       // client id -> the element shown while posting
  var unseen = [];        // agent replies shown while the panel was closed or the tab hidden

  // The panel's words, in the seller's language (chat_panel.html fills them from the
  // catalogue); "{name}" in one is filled in here.
  function words(name, values) {
    var text = panel.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function item(author, text) {
    var li = document.createElement("li");
    li.className = author;
    var body = document.createElement("div");
    body.className = "chat-text";
    body.textContent = text;
    li.appendChild(body);
    log.appendChild(li);
    scrollDown();
    return li;
  }

  function addButtons(li, buttons) {
    if (!buttons || !buttons.length) { return; }
    var row = document.createElement("div");
    row.className = "chat-buttons";
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = b.label;
      button.addEventListener("click", function () {
        send({ button: { payload: b.payload, label: b.label } }, b.label);
      });
      row.appendChild(button);
    });
    li.appendChild(row);
  }

  // The seller's own files, as downloads from the portal (which hands a file to its seller only).
  function addFileLinks(li, attachments) {
    if (!attachments || !attachments.length) { return; }
    var row = document.createElement("div");
    row.className = "chat-files";
    attachments.forEach(function (a) {
      if (!a.file_id) { return; }
      var link = document.createElement("a");
      link.href = panel.getAttribute("data-file-url") + encodeURIComponent(a.file_id);
      link.textContent = a.file_name || words("file");
      row.appendChild(link);
    });
    li.appendChild(row);
  }

  function show(line) {
    if (seen[line.id]) { return; }
    if (line.kind === "edit") {
      var target = line.edits && seen[line.edits];
      if (target) { target.querySelector(".chat-text").textContent = line.text; }
      seen[line.id] = target || true;
      return;
    }
    if (line.author === "seller" && line.client_id && pending[line.client_id]) {
      var mine = pending[line.client_id];
      mine.classList.remove("pending");
      addFileLinks(mine, line.attachments);
      seen[line.id] = mine;
      return;
    }
    var text = line.kind === "file" ? "\uD83D\uDCCE " + line.file_name + (line.text ? " — " + line.text : "") : line.text;
    var li = item(line.author === "seller" ? "seller" : "bot", text);
    li.setAttribute("data-line", line.id);
    if (line.author !== "seller") { addButtons(li, line.buttons); } else { addFileLinks(li, line.attachments); }
    if (line.case_message_id) { unseen.push(line.id); flushSeen(); }
    if (line.case_url) {
      var open = document.createElement("a");
      open.href = line.case_url;
      open.textContent = line.case_number ? words("open-case", { number: line.case_number }) : words("open-the-case");
      li.appendChild(document.createElement("br"));
      li.appendChild(open);
    }
    seen[line.id] = li;
  }

  // Agent replies count as read once the seller can see them: the panel open, the tab shown.
  function looking() { return box.open && document.visibilityState === "visible"; }

  function flushSeen() {
    if (!unseen.length || !looking()) { return; }
    var lines = unseen.splice(0, unseen.length);
    fetch(panel.getAttribute("data-seen"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept-Language": language },
      body: JSON.stringify({ lines: lines })
    }).catch(function () { unseen = lines.concat(unseen); });
  }

  // Sends a message (JSON, or the files' form) until it is taken; the same id each time.
  function deliver(url, options, li, attempt) {
    fetch(url, options).then(function (response) {
      if (response.ok) { return; }
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (answer.retry && attempt < 6) {
          setTimeout(function () { deliver(url, options, li, attempt + 1); }, 500 * Math.pow(2, attempt));
          return;
        }
        var error = answer.error || words(response.status === 413 ? "too-large" : "not-sent");
        li.classList.add("failed");
        li.setAttribute("title", error);
        state.textContent = error;
      });
    }).catch(function () {
      if (attempt < 6) {
        setTimeout(function () { deliver(url, options, li, attempt + 1); }, 500 * Math.pow(2, attempt));
      } else {
        li.classList.add("failed");
        state.textContent = words("no-connection");
      }
    });
  }

  function send(body, shown) {
    body.id = newId();
    var li = item("seller pending", shown);
    pending[body.id] = li;
    deliver(panel.getAttribute("data-messages"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept-Language": language },
      body: JSON.stringify(body)
    }, li, 0);
  }

  // Images and files, with the typed text as their caption: one message, like on Telegram.
  function sendFiles(picked, text) {
    var id = newId();
    var data = new FormData();
    data.append("id", id);
    data.append("text", text);
    picked.forEach(function (file) { data.append("file", file, file.name); });
    var names = picked.map(function (file) { return file.name; }).join(", ");
    var li = item("seller pending", "\uD83D\uDCCE " + names + (text ? " — " + text : ""));
    pending[id] = li;
    deliver(panel.getAttribute("data-files"), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Accept-Language": language }, body: data
    }, li, 0);
  }

  function showChosen() {
    var names = Array.prototype.map.call(files.files, function (file) { return file.name; });
    chosen.textContent = names.length ? "\uD83D\uDCCE " + names.join(", ") : "";
  }
  files.addEventListener("change", showChosen);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    var picked = Array.prototype.slice.call(files.files);
    if (!text && !picked.length) { return; }
    if (picked.length > MAX_FILES) {
      state.textContent = words("max-files", { count: MAX_FILES });
      return;
    }
    input.value = "";
    if (picked.length) {
      files.value = "";
      showChosen();
      sendFiles(picked, text);
      return;
    }
    send({ text: text }, text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  box.addEventListener("toggle", function () { if (box.open) { scrollDown(); flushSeen(); } });
  document.addEventListener("visibilitychange", flushSeen);

  var events = new EventSource(panel.getAttribute("data-events"));
  events.addEventListener("line", function (event) { show(JSON.parse(event.data)); });
  events.addEventListener("open", function () { state.textContent = ""; panel.setAttribute("data-connected", "1"); });
  events.addEventListener("error", function () {
    if (events.readyState === EventSource.CONNECTING) { state.textContent = words("reconnecting"); }
    // Closed for good: the server refused the stream (the session ended).
    if (events.readyState === EventSource.CLOSED) { state.textContent = words("disconnected"); }
  });
})();
