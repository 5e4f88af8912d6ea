// The pay page's one script: long-polls /pay/:no/status and moves on when WeChat's news lands,
// counts the QR code's time down, and takes the code away when it has expired. The page works
// without it ("I have paid" and "Get a new QR code" are plain forms). Inside WeChat's browser
// (JSAPI) it also hands WeChat's bridge the shop's signed parameters when Pay is pressed; what
// the bridge answers only changes the message: the poll (the webhook, orderquery) decides.
// No inline script anywhere (CSP); texts come from data attributes rendered from the dictionaries.
(function () {
  'use strict';
  var page = document.getElementById('pay');
  if (!page) return;
  var outTradeNo = page.getAttribute('data-out-trade-no');
  var expiresAt = new Date(page.getAttribute('data-expires-at')).getTime();
  var skew = Date.now() - (expiresAt - Number(page.getAttribute('data-seconds-left')) * 1000);
  var urgentSeconds = Number(page.getAttribute('data-urgent-seconds')) || 300;
  var statusEl = document.getElementById('pay-status');
  var expiryEl = document.getElementById('pay-expiry');
  var timeLeftEl = document.getElementById('pay-time-left');
  var qrBox = document.getElementById('pay-qr');
  var qrGone = document.getElementById('pay-qr-gone');
  var checkForm = document.getElementById('pay-check');
  var renewForm = document.getElementById('pay-renew');
  var hm = page.getAttribute('data-duration-hm') || '{h}:{m}';
  var ms = page.getAttribute('data-duration-ms') || '{m}:{s}';
  var offlineText = page.getAttribute('data-text-offline') || '';
  var failures = 0;
  var stopped = false;

  function secondsLeft() {
    return Math.max(0, Math.floor((expiresAt - (Date.now() - skew)) / 1000));
  }

  function duration(left) {
    var h = Math.floor(left / 3600);
    var m = Math.floor((left % 3600) / 60);
    var s = left % 60;
    if (h > 0) return hm.replace('{h}', String(h)).replace('{m}', String(m));
    return ms.replace('{m}', String(m)).replace('{s}', (s < 10 ? '0' : '') + s);
  }

  // the stale code is taken away, not faded: nobody should scan it any more
  function showExpired() {
    stopped = true;
    if (expiryEl) expiryEl.hidden = true;
    if (qrBox) qrBox.remove();
    if (qrGone) qrGone.hidden = false;
    if (statusEl) statusEl.textContent = '';
    if (checkForm) checkForm.hidden = true;
    if (renewForm) renewForm.hidden = false;
  }

  function tick() {
    var left = secondsLeft();
    if (left <= 0) return showExpired();
    if (timeLeftEl) timeLeftEl.textContent = duration(left);
    if (expiryEl && left <= urgentSeconds) expiryEl.classList.add('urgent');
    // once a minute is enough while hours are left; every second near the end
    setTimeout(tick, left > 3600 ? 1000 * ((left % 60) + 1) : 1000);
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
        if (answer.state === 'EXPIRED' || answer.state === 'CLOSED') return showExpired();
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

  // ---- JSAPI: WeixinJSBridge.invoke('getBrandWCPayRequest', params, callback) ----
  var jsapiButton = document.getElementById('pay-jsapi');
  var jsapiMessage = document.getElementById('pay-jsapi-message');

  function say(text) {
    if (!jsapiMessage) return;
    jsapiMessage.textContent = text;
    jsapiMessage.hidden = !text;
  }

  function bridge() {
    return typeof window.WeixinJSBridge !== 'undefined' && window.WeixinJSBridge && typeof window.WeixinJSBridge.invoke === 'function' ? window.WeixinJSBridge : undefined;
  }

  function payInWechat() {
    var b = bridge();
    if (!b) return say(jsapiButton.getAttribute('data-text-no-bridge'));
    jsapiButton.disabled = true;
    say('');
    var csrf = jsapiButton.getAttribute('data-csrf') || '';
    fetch(jsapiButton.getAttribute('data-url'), {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': csrf },
      body: '_csrf=' + encodeURIComponent(csrf),
    })
      .then(function (res) {
        return res.json().then(function (answer) {
          return { ok: res.ok, answer: answer };
        });
      })
      .then(function (r) {
        if (r.answer && r.answer.redirect && !r.answer.params) {
          window.location.assign(r.answer.redirect);
          return;
        }
        if (!r.ok || !r.answer.params) throw new Error((r.answer && r.answer.error && r.answer.error.message) || 'HTTP error');
        say(jsapiButton.getAttribute('data-text-paying'));
        b.invoke('getBrandWCPayRequest', r.answer.params, function (res) {
          jsapiButton.disabled = false;
          var msg = (res && res.err_msg) || '';
          // "ok" only says the payer confirmed: the page waits for WeChat's word as always
          if (msg === 'get_brand_wcpay_request:ok') return say(jsapiButton.getAttribute('data-text-paying'));
          if (msg === 'get_brand_wcpay_request:cancel') return say(jsapiButton.getAttribute('data-text-cancelled'));
          say((jsapiButton.getAttribute('data-text-failed') || '{reason}').replace('{reason}', (res && (res.err_desc || res.errMsg)) || msg || '?'));
        });
      })
      .catch(function (err) {
        jsapiButton.disabled = false;
        say((jsapiButton.getAttribute('data-text-failed') || '{reason}').replace('{reason}', err && err.message ? err.message : String(err)));
      });
  }

  if (jsapiButton) {
    jsapiButton.hidden = false;
    jsapiButton.addEventListener('click', payInWechat);
  }

  if (statusEl) statusEl.setAttribute('data-waiting', statusEl.getAttribute('data-waiting-text') || statusEl.textContent);
  tick();
  poll();
})();
