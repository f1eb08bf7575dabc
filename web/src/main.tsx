import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./app";
import { refreshMe } from "./session";
import { startTheme } from "./theme";

startTheme();

// Who the user is decides which controls a page shows (an editable name or a plain one): know it before the
// first page draws, so a control never changes under the user's pointer. A server that cannot answer still
// gets the app, which then reports the error itself.
void refreshMe()
  .catch(() => undefined)
  .finally(() => render(<App />, document.getElementById("app")!));
