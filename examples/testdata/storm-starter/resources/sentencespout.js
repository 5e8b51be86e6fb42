// storm-starter's randomsentence.js, emitting each sentence once, reliably.
var storm = require('./storm');
var Spout = storm.Spout;

var SENTENCES = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature"];

function SentenceSpout(sentences) {
    Spout.call(this);
    this.next = 0;
    this.sentences = sentences;
    this.pending = {};
};

SentenceSpout.prototype = Object.create(Spout.prototype);
SentenceSpout.prototype.constructor = SentenceSpout;

SentenceSpout.prototype.nextTuple = function(done) {
    if (this.next < this.sentences.length) {
        var id = this.next++;
        this.pending[id] = [this.sentences[id]];
        this.emit({tuple: this.pending[id], id: id}, function(taskIds) {});
    }
    done();
}

SentenceSpout.prototype.ack = function(id, done) {
    delete this.pending[id];
    done();
}

SentenceSpout.prototype.fail = function(id, done) {
    this.emit({tuple: this.pending[id], id: id}, function(taskIds) {});
    done();
}

new SentenceSpout(SENTENCES).run();
