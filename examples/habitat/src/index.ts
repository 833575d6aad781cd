// Habitat: the reference application. People, Agreements and Treasury, coordinating only
// through events. See examples/habitat/README.md.
export {};
