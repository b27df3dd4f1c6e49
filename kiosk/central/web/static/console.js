// Enhancements only: every page works without this file.
import { initAll } from "./govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
