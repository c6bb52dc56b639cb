// The chat panel's own styles (shared with the in-notebook panel), then the sidebar's fit into JupyterLab.
import "../../tutornb/widget/static/chat.css";
import "./index.css";
