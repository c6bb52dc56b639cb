// Extra webpack configuration for @jupyterlab/builder (opted in by package.json's
// jupyterlab.webpackConfig): makes the build independent of the folder it runs in.
//
// Production builds give modules "deterministic" ids hashed from their names relative to the build
// folder, except one: module federation's container entry is named after the absolute paths of the
// exposed modules, so its id (in remoteEntry.*.js, and so that file's content hash) changed with the
// checkout's location. The committed build must be reproducible anywhere (.ci/run rebuilds it in a
// scratch folder and compares byte for byte), so the container entry gets a fixed id.
const path = require("node:path");

class FixedContainerEntryId {
  apply(compiler) {
    compiler.hooks.compilation.tap("FixedContainerEntryId", (compilation) => {
      compilation.hooks.afterOptimizeModuleIds.tap("FixedContainerEntryId", (modules) => {
        for (const module of modules) {
          if (module.constructor.name === "ContainerEntryModule") {
            compilation.chunkGraph.setModuleId(module, "tutornb-container-entry");
          }
        }
      });
    });
  }
}

// The chat page modules in ../js import npm packages (DOMPurify, markdown-it): they resolve from this
// folder's node_modules first (pinned by this folder's lockfile), never from wherever the checkout is.
module.exports = {
  plugins: [new FixedContainerEntryId()],
  resolve: { modules: [path.join(__dirname, "node_modules"), "node_modules"] },
};
