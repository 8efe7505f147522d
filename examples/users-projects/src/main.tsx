import { createConvoyClient } from "convoy/client";
import { ConvoyProvider } from "convoy/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

// Same origin: `convoy serve --static dist` serves this page, and `vite` proxies /api to Convoy.
const client = createConvoyClient();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ConvoyProvider client={client}>
      <App />
    </ConvoyProvider>
  </StrictMode>,
);
