// The pay page's one script: long-polls /pay/:no/status and moves on when WeChat's news lands.
// No inline script anywhere (CSP); texts come from data attributes rendered from the dictionaries.
(function () {
  'use strict';
  var page = document.getElementById('pay');
  if (!page) return;
  var outTradeNo = page.getAttribute('data-out-trade-no');
  var expiresAt = new Date(page.getAttribute('data-expires-at')).getTime();
  var skew = Date.now() - (expiresAt - Number(page.getAttribute('data-seconds-left')) * 1000);
  var statusEl = document.getElementById('pay-status');
  var expiryEl = document.getElementById('pay-expiry');
  var renewForm = document.getElementById('pay-renew');
  var countdownText = page.getAttribute('data-text-countdown') || '{time}';
  var expiredText = page.getAttribute('data-text-expired') || '';
  var offlineText = page.getAttribute('data-text-offline') || '';
  var failures = 0;
  var stopped = false;

  function secondsLeft() {
    return Math.max(0, Math.floor((expiresAt - (Date.now() - skew)) / 1000));
  }

  function showExpired() {
    stopped = true;
    if (expiryEl) expiryEl.textContent = expiredText;
    if (statusEl) statusEl.textContent = '';
    if (renewForm) renewForm.hidden = false;
    var qr = page.querySelector('.qr');
    if (qr) qr.classList.add('expired');
  }

  function tick() {
    var left = secondsLeft();
    if (left <= 0) return showExpired();
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    if (expiryEl) expiryEl.textContent = countdownText.replace('{time}', minutes + ':' + (seconds < 10 ? '0' : '') + seconds);
    setTimeout(tick, 1000);
  }

  function poll() {
    if (stopped) return;
    fetch('/pay/' + encodeURIComponent(outTradeNo) + '/status?wait=25', {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    })
      .then(function (res) {
        if (res.status === 503) {
          var retry = Number(res.headers.get('Retry-After')) || 5;
          throw { retryAfter: retry };
        }
        if (!res.ok) throw { status: res.status };
        return res.json();
      })
      .then(function (answer) {
        failures = 0;
        if (statusEl && statusEl.getAttribute('data-offline')) {
          statusEl.removeAttribute('data-offline');
          statusEl.textContent = statusEl.getAttribute('data-waiting') || '';
        }
        if (answer.redirect) {
          stopped = true;
          window.location.assign(answer.redirect);
          return;
        }
        poll();
      })
      .catch(function (err) {
        failures += 1;
        if (statusEl) {
          statusEl.setAttribute('data-offline', '1');
          statusEl.textContent = offlineText;
        }
        var delay = err && err.retryAfter ? err.retryAfter * 1000 : Math.min(30000, 1000 * Math.pow(2, failures - 1));
        setTimeout(poll, delay);
      });
  }

  if (statusEl) statusEl.setAttribute('data-waiting', statusEl.getAttribute('data-waiting-text') || statusEl.textContent);
  tick();
  poll();
})();
