// Progressive enhancement for every shop page; without it the plain forms work the same.
// "Add to cart" answers where the click was: the note appears in the product's card and the
// header's cart count changes, with no reload that jumps to an anchor. No inline script (CSP).
(function () {
  'use strict';

  function noteOf(form) {
    var card = form.closest('.product');
    return card ? card.querySelector('.card-note') : null;
  }

  function show(form, text, isError) {
    var notes = document.querySelectorAll('.card-note');
    for (var i = 0; i < notes.length; i += 1) {
      notes[i].hidden = true;
      notes[i].classList.remove('flash');
      notes[i].classList.remove('field-error');
    }
    var note = noteOf(form);
    if (!note) return;
    note.textContent = text;
    note.classList.add(isError ? 'field-error' : 'flash');
    note.hidden = false;
  }

  // one add at a time: the first line in the cart renews the session and its CSRF token, and a
  // second request sent before that answer arrived would carry the old ones
  var queue = Promise.resolve();

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form || !form.classList || !form.classList.contains('add-to-cart') || !window.fetch || !window.URLSearchParams) return;
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    var quantity = form.querySelector('input[name="quantity"]');
    queue = queue.then(function () {
      return send(form, button, quantity);
    });
  });

  function send(form, button, quantity) {
    return fetch(form.action, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      credentials: 'same-origin',
      body: new URLSearchParams(new FormData(form)).toString(),
    })
      .then(
        function (res) {
          return res.json().then(function (answer) {
            return { ok: res.ok, answer: answer };
          });
        },
        function () {
          // never reached the shop: the plain form post tries again
          form.submit();
          return { ok: false, answer: null, sent: true };
        },
      )
      .then(function (result) {
        if (result.sent) return;
        var answer = result.answer || {};
        if (!result.ok) {
          show(form, (answer.error && answer.error.message) || '', true);
          if (quantity) quantity.setAttribute('aria-invalid', 'true');
          return;
        }
        if (quantity) quantity.removeAttribute('aria-invalid');
        show(form, answer.message || '', false);
        var links = document.querySelectorAll('.cart-link');
        for (var i = 0; i < links.length; i += 1) links[i].textContent = answer.cartLabel;
        // the first line in the cart gave the session a new CSRF token
        if (answer.csrfToken) {
          var tokens = document.querySelectorAll('input[name="_csrf"]');
          for (var j = 0; j < tokens.length; j += 1) tokens[j].value = answer.csrfToken;
        }
      })
      .catch(function () {
        // an answer that is not the shop's JSON: show the page as the server has it now
        window.location.reload();
      })
      .then(function () {
        if (button) button.disabled = false;
      });
  }
})();
