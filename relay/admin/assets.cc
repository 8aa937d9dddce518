#include "relay/admin/assets.h"

namespace daicho::relay::admin {

// Sized for a 1366x768 office laptop; system Japanese fonts first.
const std::string_view kStyleCss = R"css(
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans JP","IPAGothic","IPAexGothic","Hiragino Sans","Meiryo",sans-serif;
  font-size:15px;color:#1d2733;background:#f3f5f8;line-height:1.6}
header{display:flex;align-items:center;gap:1.5em;padding:.6em 1.5em;background:#24476b;color:#fff;flex-wrap:wrap}
header .brand{font-weight:bold;font-size:1.1em}
header nav{display:flex;gap:1em;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}
header a:hover,header a[aria-current]{text-decoration:underline}
header .who{margin-left:auto;font-size:.9em;opacity:.9}
header form{margin:0}
header button{background:none;border:1px solid #fff;color:#fff;padding:.15em .8em;border-radius:3px;cursor:pointer}
main{max-width:1200px;margin:1.5em auto;padding:0 1.5em}
h1{font-size:1.4em;margin:.2em 0 .8em}
h2{font-size:1.1em;margin:1.5em 0 .5em}
.panel{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:1.2em 1.5em;margin-bottom:1.2em}
.narrow{max-width:480px;margin-left:auto;margin-right:auto}
.notice{padding:.7em 1em;border-radius:4px;margin-bottom:1em}
.notice.ok{background:#e3f4e8;border:1px solid #8fcf9f}
.notice.error{background:#fdeaea;border:1px solid #e7a1a1}
tr.refused th,tr.refused td{color:#a31515;font-weight:bold}
label{display:block;font-weight:bold;margin:.8em 0 .2em}
.hint{font-weight:normal;font-size:.85em;color:#5a6675}
input[type=text],input[type=email],input[type=password]{width:100%;padding:.45em .6em;font-size:1em;
  border:1px solid #aab4c0;border-radius:4px}
input:focus{outline:2px solid #4a8ad4;border-color:#4a8ad4}
button,.button{display:inline-block;margin-top:1em;padding:.45em 1.3em;font-size:1em;border-radius:4px;
  border:1px solid #24476b;background:#24476b;color:#fff;cursor:pointer;text-decoration:none}
button.secondary{background:#fff;color:#24476b}
button.danger{background:#b3261e;border-color:#b3261e}
.inline{display:inline-block;margin:0 .4em 0 0}
.inline button{margin-top:.3em}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.45em .6em;border-bottom:1px solid #e1e6ec;vertical-align:top}
th{background:#eef2f6;font-size:.9em}
td.num{text-align:right}
td.nowrap{white-space:nowrap}
.mono{font-family:"DejaVu Sans Mono",monospace}
.muted{color:#6b7785}
.links{margin-top:1em}
)css";

// Shows the server's sentence (data-msg-* on the field) in the browser's
// bubble instead of the browser's generic one, and checks that a
// confirmation field matches its password (data-same-as).
const std::string_view kFormsJs = R"js("use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-msg-required]").forEach(function (input) {
    function explain() {
      var v = input.validity, d = input.dataset, msg = "";
      if (v.valueMissing) msg = d.msgRequired;
      else if (v.tooShort) msg = d.msgTooShort;
      else if (v.tooLong) msg = d.msgTooLong;
      else if (v.patternMismatch) msg = d.msgPattern;
      else if (d.sameAs) {
        var other = document.getElementById(d.sameAs);
        if (other && other.value !== input.value) msg = d.msgDiffer;
      }
      input.setCustomValidity(msg || "");
    }
    input.addEventListener("input", explain);
    input.addEventListener("invalid", explain);
    explain();
  });
});
)js";

}  // namespace daicho::relay::admin
