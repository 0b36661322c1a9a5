"""The assistant console's static files (index.html, console.js, rh.js), served by
:mod:`sandbox.assist` at ``/assist/console/``. A package only so the files ship with it."""
