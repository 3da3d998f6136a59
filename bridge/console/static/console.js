// Copy buttons: copy the named field's value, say so for screen readers.
// Everything else in the console works without JavaScript.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button.copy");
  if (!b) return;
  var field = document.getElementById(b.dataset.copy);
  var status = document.getElementById("copy-status");
  if (!field) return;
  var done = function (ok) {
    if (status) status.textContent = ok ? "Copied " + field.labels[0].textContent + "." : "Select the text and copy it with Ctrl+C.";
    b.textContent = ok ? "Copied" : "Copy";
  };
  field.focus();
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { done(document.execCommand("copy")); });
  } else {
    done(document.execCommand("copy"));
  }
});
