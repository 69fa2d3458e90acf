// Datasette's SQL editor (CodeMirror 5), loaded when someone first edits SQL rather than with every page.
//
// Datasette's templates load CodeMirror, its SQL mode and its resize handle (about 83 KB compressed) in
// the <head> of every database and query page, and turn the SQL text area into the editor on the
// window's load event (_codemirror.html, _codemirror_foot.html). The site's templates/_codemirror.html
// loads this script instead. On load it does what _codemirror_foot.html did for the "Format SQL"
// button; the text area stays a text area until it is focused, touched or typed in, and then the editor
// is loaded and replaces it with Datasette's own settings (line numbers, SQL mode, wrapping,
// Shift-Enter runs the query, Tab leaves it, a resize handle), named "SQL query" for screen readers,
// and takes the focus where the text area had it.

(function () {
  const urls = document.currentScript.dataset;
  let editor = null;
  let starting = null;

  function loaded(element) {
    return new Promise((resolve, reject) => {
      element.addEventListener("load", resolve);
      element.addEventListener("error", () => reject(new Error("could not load " + (element.src || element.href))));
      document.head.appendChild(element);
    });
  }

  function script(src) {
    const element = document.createElement("script");
    element.src = src;
    return loaded(element);
  }

  function stylesheet(href) {
    const element = document.createElement("link");
    element.rel = "stylesheet";
    element.href = href;
    return loaded(element);
  }

  function startEditor(textarea) {
    if (!starting) {
      starting = Promise.all([stylesheet(urls.stylesheet), script(urls.codemirror)])
        .then(() => Promise.all([script(urls.sqlMode), script(urls.resize)]))
        .then(() => {
          const focused = document.activeElement === textarea;
          const cursor = textarea.selectionStart;
          window.CodeMirror.defaults.screenReaderLabel = "SQL query";
          editor = window.CodeMirror.fromTextArea(textarea, {
            lineNumbers: true,
            mode: "text/x-sql",
            lineWrapping: true,
          });
          editor.setOption("extraKeys", {
            "Shift-Enter": function () {
              document.getElementsByClassName("sql")[0].submit();
            },
            Tab: false,
          });
          window.cmResize(editor, { resizableWidth: false });
          if (focused) {
            editor.focus();
            editor.setCursor(editor.posFromIndex(cursor));
          }
        });
    }
    return starting;
  }

  window.addEventListener("load", () => {
    const format = document.querySelector("button#sql-format");
    const readOnly = document.querySelector("pre#sql-query");
    const textarea = document.querySelector("textarea#sql-editor");
    if (format && !readOnly) {
      format.hidden = false;
    }
    if (textarea) {
      const start = () => startEditor(textarea);
      for (const event of ["focus", "pointerdown", "input"]) {
        textarea.addEventListener(event, start, { once: true });
      }
      if (format) {
        format.addEventListener("click", () => {
          if (editor) {
            editor.setValue(window.sqlFormatter.format(editor.getValue()));
          } else {
            textarea.value = window.sqlFormatter.format(textarea.value);
          }
        });
      }
    }
    if (format && readOnly) {
      const formatted = window.sqlFormatter.format(readOnly.innerHTML);
      if (formatted != readOnly.innerHTML) {
        format.hidden = false;
        format.addEventListener("click", () => {
          readOnly.innerHTML = formatted;
        });
      }
    }
  });
})();
