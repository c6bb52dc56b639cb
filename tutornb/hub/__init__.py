"""``tutornb-hub``: a JupyterHub service that holds what a learner's own server cannot keep from them.

A single-user server runs as its learner, so whatever it can read the learner's kernel can read. This
service runs apart (managed by the hub or external) and, authenticated with the hub's tokens and
OAuth, receives progress reports under their real author, proxies the model with a key only it
holds, keeps solutions and the policy in a course folder learners cannot read, and serves the class
view live to each course's instructors (:mod:`tutornb.hub.app`).
"""
