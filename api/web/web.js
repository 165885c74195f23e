// Progressive enhancement of the upload forms: drag-and-drop and in-page submission.
// Without this script the forms post normally and the server answers with a full page.
(function () {
  'use strict';
  var busy = { id: 'Memeriksa dokumen… mohon tunggu.', en: 'Checking the document… please wait.' };
  var failed = {
    id: 'Pemeriksaan gagal: koneksi terputus. Silakan coba lagi.',
    en: 'The check failed: the connection was lost. Please try again.'
  };
  var lang = document.documentElement.lang === 'en' ? 'en' : 'id';

  function enhance(form) {
    var input = form.querySelector('input[type=file]');
    var drop = form.querySelector('.drop');
    var status = document.getElementById('status');
    if (!input || !drop) return;

    ['dragenter', 'dragover'].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove('over'); });
    });
    drop.addEventListener('drop', function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });

    form.addEventListener('submit', function (e) {
      if (!window.fetch || !window.FormData || !window.DOMParser) return; // plain post
      e.preventDefault();
      var button = form.querySelector('button');
      if (button) button.disabled = true;
      if (status) status.textContent = busy[lang];
      fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'omit' })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          // The server renders the same page as for a plain post; show its <main>.
          var doc = new DOMParser().parseFromString(html, 'text/html');
          var main = doc.getElementById('main');
          var here = document.getElementById('main');
          if (!main || !here) throw new Error('unexpected answer');
          here.replaceWith(document.importNode(main, true));
          if (doc.title) document.title = doc.title;
          window.scrollTo(0, 0);
          var fresh = document.getElementById('main');
          fresh.querySelectorAll('form.upload').forEach(enhance);
          var h = fresh.querySelector('h1');
          if (h) { h.tabIndex = -1; h.focus(); }
        })
        .catch(function () {
          if (status) status.textContent = failed[lang];
          if (button) button.disabled = false;
        });
    });
  }

  document.querySelectorAll('form.upload').forEach(enhance);
})();
