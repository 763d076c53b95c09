// gxsheet serve: drag-and-drop upload for a town's page. Without this script the form still posts.
// The server does all checking and renders the result page; this only sends the file and follows.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) { return; }
  var input = document.getElementById("file");
  var progress = document.getElementById("progress");
  var error = document.getElementById("upload-error");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

  function showError(text) {
    progress.hidden = true;
    error.textContent = text;   // text, never HTML
    error.hidden = false;
  }

  function send(file) {
    if (!file) { return; }
    error.hidden = true;
    if (maxBytes && file.size > maxBytes) {
      showError("文件超过 " + Math.round(maxBytes / 1048576) + " MB 上限，未上传。请检查是否选错了文件。");
      return;
    }
    var data = new FormData();
    data.append("file", file, file.name);
    progress.hidden = false;
    fetch(form.action, { method: "POST", body: data, headers: { "Accept": "application/json" },
                         credentials: "same-origin", referrerPolicy: "no-referrer" })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; },
                             function () { return { ok: false, body: null }; });
      })
      .then(function (res) {
        if (res.ok && res.body && res.body.page) {
          window.location.assign(res.body.page);
        } else if (res.body && res.body.error) {
          showError(res.body.error.message);
        } else {
          showError("上传失败，请稍后重试。");
        }
      }, function () { showError("网络错误，上传失败，请检查网络后重试。"); });
  }

  input.addEventListener("change", function () { send(input.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (e) { e.preventDefault(); form.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function (e) { e.preventDefault(); form.classList.remove("over"); });
  });
  form.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) { send(e.dataTransfer.files[0]); }
  });
}());
