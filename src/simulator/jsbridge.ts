/**
 * The simulator's stand-in for the WeixinJSBridge that WeChat's browser puts on every page: a
 * script (GET /wxsim/jsbridge.js, or a test's init script) that defines `WeixinJSBridge.invoke`
 * for `getBrandWCPayRequest` and fires `WeixinJSBridgeReady`, as WeChat's browser does. The pay
 * request goes to the simulator (POST <base>/jsapi/pay), which checks the six fields and the
 * paySign exactly as WeChat would and pays as the phone does. A refused request is loud: the
 * callback gets `get_brand_wcpay_request:fail` with WeChat's reason, and the console says why.
 * A script of ours, served from our origin (the pages' CSP allows 'self' only).
 */
export function jsBridgeScript(base: string): string {
  return `// WeChat Pay simulator: WeixinJSBridge (getBrandWCPayRequest) for tests and demos. Not WeChat.
(function () {
  'use strict';
  if (window.WeixinJSBridge) return;
  var base = ${JSON.stringify(base)};
  function invoke(name, params, callback) {
    var done = typeof callback === 'function' ? callback : function () {};
    if (name !== 'getBrandWCPayRequest') {
      done({ err_msg: name + ':fail', err_desc: 'the simulator bridge only knows getBrandWCPayRequest' });
      return;
    }
    fetch(base + '/jsapi/pay', {
      method: 'POST',
      credentials: 'include',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(params || {}),
    })
      .then(function (res) { return res.json(); })
      .then(function (answer) {
        if (answer.err_msg !== 'get_brand_wcpay_request:ok') console.error('[WeChat Pay simulator] getBrandWCPayRequest refused: ' + answer.err_desc);
        done(answer);
      })
      .catch(function (err) {
        console.error('[WeChat Pay simulator] getBrandWCPayRequest failed: ' + err);
        done({ err_msg: 'get_brand_wcpay_request:fail', err_desc: String(err) });
      });
  }
  window.WeixinJSBridge = { invoke: invoke, on: function () {}, call: function () {} };
  function ready() {
    var event = document.createEvent('Event');
    event.initEvent('WeixinJSBridgeReady', true, true);
    document.dispatchEvent(event);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
`;
}
