// Live countdowns: every <time data-until> shows the time left until its instant, updated
// each second; past instants are marked overdue. Text comes from the page's language.
(function () {
  var zh = document.documentElement.lang !== "en";
  function left(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    var t = zh ? (d ? d + "天" : "") + h + "小时" + m + "分" : (d ? d + "d " : "") + h + "h " + m + "m";
    return ms < 0 ? (zh ? "已超时 " : "overdue by ") + t : (zh ? "剩余 " : "") + t + (zh ? "" : " left");
  }
  function tick() {
    var now = Date.now() + (window.yunshiClockOffset || 0);
    document.querySelectorAll("time[data-until]").forEach(function (el) {
      var ms = Date.parse(el.dataset.until) - now;
      el.textContent = left(ms);
      el.classList.toggle("overdue", ms < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var c = document.querySelector("meta[name=yunshi-now]");
    if (c) { window.yunshiClockOffset = Date.parse(c.content) - Date.now(); }
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", tick);
})();
