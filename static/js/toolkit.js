/* The toolkit page's copy buttons: a post's text (or a caption, alt text, hashtags) to the
   clipboard. Without JavaScript the buttons stay hidden and the text is there to select. */
(function () {
  "use strict";

  function copyWithTextarea(text) {
    // Older browsers, and pages not served over https, have no navigator.clipboard.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  function selectContents(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, message) {
    var status = button.parentNode.querySelector(".copy-status");
    if (!status) return;
    status.textContent = message;
    window.clearTimeout(status._clearTimer);
    status._clearTimer = window.setTimeout(function () { status.textContent = ""; }, 6000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".copy-button") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    function copied() { say(button, "Copied."); }
    function fallBack() {
      if (copyWithTextarea(text)) {
        copied();
      } else {
        selectContents(source);
        say(button, "Press Ctrl+C (or ⌘C) to copy the selected text.");
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, fallBack);
    } else {
      fallBack();
    }
  });
})();
